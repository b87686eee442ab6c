import { main } from '../svlogd/main.js';
main(process.argv);
