// The version runit and runit-init name.
export const VERSION = 'runit-ts 0.1.0';
