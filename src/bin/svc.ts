import { main } from '../sv/svc.js';
main(process.argv);
