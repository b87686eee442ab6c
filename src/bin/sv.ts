import { main } from '../sv/main.js';
main(process.argv);
