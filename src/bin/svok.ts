import { main } from '../sv/svok.js';
main(process.argv);
