import { defaultSignal } from '../sys/libc.js';
import { main } from '../svlogd/main.js';

defaultSignal(10); // SIGUSR1 kills svlogd as it kills runit's; Node would open a debugger port
main(process.argv);
