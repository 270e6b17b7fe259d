// Preloaded (node --require) into `rpg train` by the Ctrl-C test. The moment the CLI prints that
// training has started (its "run folder" line) the process sends itself SIGINT, as a user's
// Ctrl-C would: it always lands while the run trains, on any machine however fast or slow,
// with no timer racing the training speed.
const write = process.stdout.write.bind(process.stdout);
let sent = false;
process.stdout.write = (chunk, ...rest) => {
  const written = write(chunk, ...rest);
  if (!sent && /run folder/.test(String(chunk))) {
    sent = true;
    process.kill(process.pid, 'SIGINT');
  }
  return written;
};
