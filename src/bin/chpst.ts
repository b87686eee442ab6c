// chpst: runs a program with a changed process state (man chpst).
import { main } from '../chpst/main.js';

main(process.argv);
