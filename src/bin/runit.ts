// runit and runit-init: one program, two names (man runit, man runit-init).
// Which one runs is told by the name it was started by; runit-init outside
// process 1 loads nothing of runit.
import path from 'node:path';

if (path.basename(process.argv[1] ?? '') === 'runit') {
  void import('../init/main.js').then((m) => m.main());
} else {
  void import('../init/telinit.js').then((m) => m.telinit(process.argv));
}
