import { createSocket, type Socket } from 'node:dgram';
import { EventEmitter } from 'node:events';

/** BACnet/IP's own UDP port (0xBAC0). */
export const BACNET_PORT = 47808;

/** Where the BACnet client listens and where its Who-Is goes. */
export interface BacnetTransportOptions {
  /** Local UDP port; 0 takes any free one (fine when every device is asked at its address: answers come back to it). */
  port: number;
  /** Local address to bind (default all). */
  interface?: string | undefined;
  /** `host[:port]` a Who-Is is sent to. */
  broadcastAddress: string;
}

/**
 * The UDP transport of `@bacnet-js/client`, as that client calls it (`open`, `send`, `close`, `message` events
 * with `host[:port]`), with two changes the stock one lacks: port 0 binds any free port instead of 47808, so a
 * runtime that never broadcasts does not need the well-known port (nor clash with another BACnet program on the
 * machine), and the socket is unref'd, so an idle client never keeps a process alive.
 *
 * @example
 * const client = new BacnetClient({ transport: new BacnetUdpTransport({ port: 0, broadcastAddress: '255.255.255.255' }) });
 */
export class BacnetUdpTransport extends EventEmitter {
  private readonly socket: Socket;
  /** Settles once the socket listens, or with the error that kept it from binding (the port taken). */
  readonly ready: Promise<void>;

  constructor(private readonly options: BacnetTransportOptions) {
    super();
    this.socket = createSocket({ type: 'udp4' });
    // the client keys answers by `host` for the well-known port and `host:port` for any other, as it writes receivers
    this.socket.on('message', (msg, from) => this.emit('message', msg, from.port === BACNET_PORT ? from.address : `${from.address}:${from.port}`));
    this.socket.on('error', (err) => this.emit('error', err));
    this.socket.on('close', () => this.emit('close'));
    this.ready = new Promise<void>((resolve, reject) => {
      this.socket.once('listening', resolve);
      this.socket.once('error', reject);
    });
    this.ready.catch(() => {}); // awaited by the reader; an unawaited failure is no crash
  }

  getBroadcastAddress(): string {
    return this.options.broadcastAddress;
  }

  /** The largest BACnet/IP payload on an Ethernet MTU. */
  getMaxPayload(): number {
    return 1482;
  }

  send(buffer: Buffer, offset: number, receiver?: string): void {
    const [host, port] = (receiver ?? this.options.broadcastAddress).split(':');
    this.socket.send(buffer, 0, offset, Number(port) || BACNET_PORT, host, (err) => {
      if (err) this.emit('error', err);
    });
  }

  open(): void {
    this.socket.bind(this.options.port, this.options.interface, () => {
      this.socket.setBroadcast(true);
      this.socket.unref();
      this.emit('listening', this.socket.address());
    });
  }

  close(): void {
    try {
      this.socket.close();
    } catch {
      // already closed
    }
  }
}
