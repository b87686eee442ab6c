// npm start: runsvdir over a copy of example/ (a logged service and a
// normally-down one) in a temporary directory. Ctrl-C stops everything.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const root = path.dirname(path.dirname(new URL(import.meta.url).pathname));
const tree = fs.mkdtempSync(path.join(os.tmpdir(), 'runit-ts-example-'));
// example/container/ (an image) and example/beyond/ (a tree of its own) are
// the README's other examples, not services of this tree
const exampleDir = path.join(root, 'example');
const others = ['container', 'beyond'].map((d) => path.join(exampleDir, d));
fs.cpSync(exampleDir, tree, { recursive: true, filter: (f) => !others.includes(f) });
const env = { ...process.env, PATH: `${path.join(root, 'bin')}:${process.env.PATH}`, SVDIR: tree };

console.log(`runsvdir over ${tree} — in another terminal:

  export PATH=${path.join(root, 'bin')}:$PATH SVDIR=${tree}
  sv status hello clock
  cat ${tree}/hello/log/main/current
  sv up clock; sv -v restart hello; sv disable hello

Ctrl-C stops the services and runsvdir.
`);
const runsvdir = spawn(path.join(root, 'bin/runsvdir'), [tree], { env, stdio: 'inherit' });
const stop = () => runsvdir.kill('SIGHUP'); // HUP: every service is stopped, then runsvdir exits
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
runsvdir.on('exit', (code, sig) => {
  // give the supervision a moment to finish stopping services, then clean up
  setTimeout(() => {
    fs.rmSync(tree, { recursive: true, force: true });
    process.exit(code ?? (sig ? 1 : 0));
  }, 1500);
});
