// The supervision host runsvdir starts (see src/runsvdir/host.ts); not a program to run by hand.
import { host } from '../runsvdir/host.js';

host(process.argv.slice(2));
