export function main(argv: string[]): void {
  void argv;
  process.exit(100);
}
