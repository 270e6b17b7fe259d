// The trainer's JSON-RPC writer. Each message leaves as one write of header and body together.
// Writes to a pipe are synchronous on Linux and macOS, so a notification is on its way the
// moment it is sent, even when the next training step then blocks the event loop for a while
// (the stock writer writes header and body separately and waits for the loop in between).
import { AbstractMessageWriter, Message, MessageWriter } from 'vscode-jsonrpc';
import type { ProtocolOutput } from './log';

export class StdoutMessageWriter extends AbstractMessageWriter implements MessageWriter {
  private errorCount = 0;

  constructor(private readonly out: ProtocolOutput) {
    super();
  }

  write(message: Message): Promise<void> {
    const body = Buffer.from(JSON.stringify(message), 'utf8');
    const frame = Buffer.concat([Buffer.from(`Content-Length: ${body.length}\r\n\r\n`, 'ascii'), body]);
    return new Promise<void>((resolve, reject) => {
      this.out(frame, (err) => {
        if (!err) return resolve();
        this.fireError(err, message, ++this.errorCount);
        reject(err);
      });
    });
  }

  end(): void {
    // stdout stays open until the process exits; nothing to flush (writes are synchronous).
  }
}
