// TypeScript types of the sio-client ES module: the API of socket.io-client 4.8, with the
// same optional typed event maps (`Socket<ListenEvents, EmitEvents>`).

/** Event name → listener signature. */
export interface EventsMap {
  [event: string]: any;
}

/** Any event, any arguments: what an untyped socket uses. */
export interface DefaultEventsMap {
  [event: string]: (...args: any[]) => void;
}

export type EventNames<Map extends EventsMap> = keyof Map & string;
export type EventParams<Map extends EventsMap, Ev extends EventNames<Map>> = Parameters<Map[Ev]>;

/** The last parameter of an emit with an ack: the callback the server's answer goes to. */
type Last<T extends any[]> = T extends [...any[], infer L] ? L : never;
type AllButLast<T extends any[]> = T extends [...infer H, any] ? H : any[];
type FirstArg<T> = T extends (arg: infer A, ...rest: any[]) => any ? A : any;

/** Options of `io()`, a `Manager` and its sockets (socket.io-client 4.8's names and defaults). */
export interface ManagerOptions {
  /** Path of the server's endpoint. Default "/socket.io". */
  path?: string;
  /** Query parameters of every request (object or "a=1&b=2"). */
  query?: Record<string, string | number | boolean> | string;
  /** Transports to use, in order. Default ["polling", "websocket"], and "webtransport" in a
   *  build with the `webtransport` feature (without it, "webtransport" is ignored). */
  transports?: ("polling" | "websocket" | "webtransport")[];
  /** Per-transport options; `webtransport` goes to the browser's `WebTransport` (build with
   *  the `webtransport` feature), e.g. `{ serverCertificateHashes: [{ algorithm: "sha-256",
   *  value }] }`. */
  transportOptions?: { webtransport?: WebTransportOptions };
  /** When the first transport fails to connect, try the next one of `transports`, and so on,
   *  before `connect_error`. Default false. */
  tryAllTransports?: boolean;
  /** Upgrade from polling to WebSocket when the server offers it. Default true. */
  upgrade?: boolean;
  /** Start with WebSocket when an earlier connection of this page upgraded. Default false. */
  rememberUpgrade?: boolean;
  /** Reconnect after the connection is lost. Default true. */
  reconnection?: boolean;
  /** Attempts before `reconnect_failed`. Default Infinity. */
  reconnectionAttempts?: number;
  /** First reconnection delay (ms), doubled at every attempt. Default 1000. */
  reconnectionDelay?: number;
  /** Largest reconnection delay (ms). Default 5000. */
  reconnectionDelayMax?: number;
  /** Jitter of every delay, 0..1. Default 0.5. */
  randomizationFactor?: number;
  /** Connection timeout (ms), or false for none. Default 20000. */
  timeout?: number | false;
  /** Connect at once. Default true. */
  autoConnect?: boolean;
  /** Always create a new Manager (connection). Default false. */
  forceNew?: boolean;
  /** Share one connection between the namespaces of a server. Default true. */
  multiplex?: boolean;
  /** Headers of polling requests (browsers do not allow them on WebSocket). */
  extraHeaders?: Record<string, string>;
  /** Send cookies on cross-origin polling requests. Default false. */
  withCredentials?: boolean;
  /** Add a cache-busting `t` parameter to polling requests. Default true. */
  timestampRequests?: boolean;
  /** Add a trailing slash to `path`. Default true. */
  addTrailingSlash?: boolean;
  /** WebSocket sub-protocols. */
  protocols?: string | string[];
  /** A custom parser, e.g. `import parser from "socket.io-msgpack-parser"`; the server must
   *  use the same. Only in bundles built with the `parser` feature
   *  (`SIO_CLIENT_FEATURES=parser scripts/build-client.sh`); the default bundle ignores it. */
  parser?: Parser;
}

/** socket.io-client's parser interface: what `parser` gives (socket.io-parser's, or
 *  socket.io-msgpack-parser's `Encoder` and `Decoder`). */
export interface Parser {
  Encoder: new () => {
    /** The frames of a packet, an array of strings (text frames) and binary (`any`:
     *  socket.io-msgpack-parser's own types say otherwise). */
    encode(packet: Packet): any;
  };
  Decoder: new () => {
    /** Takes a frame; emits "decoded" with each packet it completes, throws on a bad one. */
    add(frame: string | ArrayBuffer): void;
    on(event: "decoded", listener: (packet: Packet) => void): unknown;
    destroy?(): void;
  };
}

export interface SocketOptions {
  /** Payload of the CONNECT packet, or a function handing it to a callback. */
  auth?: { [key: string]: any } | ((cb: (data: object) => void) => void);
  /** Default ack timeout (ms) of every emit with an ack. */
  ackTimeout?: number;
  /** Times an emit is retried when its ack times out (with `ackTimeout`). Default 0. */
  retries?: number;
  /** sio: emits kept while disconnected (and events received before connecting); past it,
   *  new emits are dropped and their error-first acks get an error. Default 10000. */
  maxBufferedEmits?: number;
}

/** An `Error` from the server's CONNECT_ERROR: its message and data. */
export interface ConnectError extends Error {
  data?: any;
  description?: any;
}

export type DisconnectReason =
  | "io server disconnect"
  | "io client disconnect"
  | "ping timeout"
  | "transport close"
  | "transport error"
  | "parse error"
  | "forced close";

export interface SocketReservedEvents {
  connect: () => void;
  connect_error: (err: ConnectError) => void;
  disconnect: (reason: DisconnectReason, description?: any) => void;
}

export interface ManagerReservedEvents {
  open: () => void;
  error: (err: Error) => void;
  ping: () => void;
  close: (reason: string, description?: any) => void;
  reconnect_failed: () => void;
  reconnect_attempt: (attempt: number) => void;
  reconnect_error: (err: Error) => void;
  reconnect: (attempt: number) => void;
  /** A decoded Socket.IO packet (after its socket handled it). */
  packet: (packet: Packet) => void;
}

/** A Socket.IO packet as the Manager's `packet` event has it. */
export interface Packet {
  /** 0 CONNECT, 1 DISCONNECT, 2 EVENT, 3 ACK, 4 CONNECT_ERROR, 5 BINARY_EVENT, 6 BINARY_ACK. */
  type: number;
  nsp: string;
  id?: number;
  data?: any;
}

/** An Engine.IO packet as `manager.engine`'s `packet` and `packetCreate` events have it. */
export interface EnginePacket {
  type: "open" | "close" | "ping" | "pong" | "message" | "upgrade" | "noop";
  data?: string | ArrayBuffer | ArrayBufferView | Blob;
  options?: { compress: boolean };
}

type Listener<Map extends EventsMap, Ev> = Ev extends EventNames<Map> ? Map[Ev] : (...args: any[]) => void;

declare class Emitter<Map extends EventsMap> {
  on<Ev extends EventNames<Map>>(ev: Ev, listener: Listener<Map, Ev>): this;
  once<Ev extends EventNames<Map>>(ev: Ev, listener: Listener<Map, Ev>): this;
  off<Ev extends EventNames<Map>>(ev?: Ev, listener?: Listener<Map, Ev>): this;
  listeners<Ev extends EventNames<Map>>(ev: Ev): Listener<Map, Ev>[];
  hasListeners(ev: string): boolean;
  addEventListener: this["on"];
  removeListener: this["off"];
  removeAllListeners: this["off"];
  removeEventListener: this["off"];
}

export interface EngineEvents {
  /** A packet received. */
  packet: (packet: EnginePacket) => void;
  /** A packet about to be sent. */
  packetCreate: (packet: EnginePacket) => void;
  /** Any packet received. */
  heartbeat: () => void;
  /** The write buffer was sent. */
  drain: () => void;
  /** The WebSocket probe answered; the switch is under way. */
  upgrading: (transport: { name: "websocket" }) => void;
  upgrade: (transport: { name: "websocket" }) => void;
  /** The WebSocket probe failed; the session stays on polling. */
  upgradeError: (err: Error & { transport: "websocket" }) => void;
  /** `description`: `{ description, context? }` for "transport close", a `TransportError`
   *  (`type: "TransportError"`, `description`, `context`) for "transport error". */
  close: (reason: string, description?: any) => void;
}

/** The Engine.IO session (`manager.engine`): a new one for each session, as in
 *  socket.io-client (listeners added on each `open` do not pile up). */
export declare class Engine extends Emitter<EngineEvents> {
  /** The session id, while a session is open. */
  readonly id: string | undefined;
  /** The transport in use, while a session is open. */
  readonly transport: { name: "polling" | "websocket" } | undefined;
  readonly readyState: "opening" | "open" | "closed";
}

/** One connection to a server, shared by the sockets of its namespaces. */
export declare class Manager extends Emitter<ManagerReservedEvents> {
  constructor(uri?: string, opts?: Partial<ManagerOptions & SocketOptions>);
  /** The URL the Manager was made with (undefined: the page's origin). */
  readonly uri: string | undefined;
  /** Read again at each (re)open: changes to `query`, `extraHeaders`, `transports`, … apply
   *  to the next attempt. */
  opts: Partial<ManagerOptions & SocketOptions>;
  readonly engine: Engine;
  /** The socket of namespace `nsp`, created on first use. */
  socket(nsp: string, opts?: Partial<SocketOptions>): Socket;
  /** Opens the connection unless it is open or opening; `fn` gets no argument once it is
   *  open, or the error if it fails (and then no reconnection follows). */
  open(fn?: (err?: Error) => void): this;
  connect(): this;
  reconnection(): boolean;
  reconnection(v: boolean): this;
  reconnectionAttempts(): number;
  reconnectionAttempts(v: number): this;
  reconnectionDelay(): number;
  reconnectionDelay(v: number): this;
  reconnectionDelayMax(): number;
  reconnectionDelayMax(v: number): this;
  randomizationFactor(): number;
  randomizationFactor(v: number): this;
  timeout(): number;
  timeout(v: number | false): this;
  /** sio: the transport in use ("polling" | "websocket"), undefined while disconnected. */
  readonly transport: "polling" | "websocket" | undefined;
}

/** One namespace of a manager's connection. */
export declare class Socket<
  ListenEvents extends EventsMap = DefaultEventsMap,
  EmitEvents extends EventsMap = ListenEvents,
> extends Emitter<ListenEvents & SocketReservedEvents> {
  readonly io: Manager;
  readonly nsp: string;
  /** The CONNECT payload sent at every (re)connection; change it to send a new token. */
  auth: { [key: string]: any } | ((cb: (data: object) => void) => void) | undefined;
  /** The id of this namespace connection, while connected. */
  readonly id: string | undefined;
  readonly connected: boolean;
  readonly disconnected: boolean;
  /** Whether the socket follows its manager (and will reconnect). */
  readonly active: boolean;
  /** Whether the last connection restored the session (connection state recovery). */
  readonly recovered: boolean;
  /** The emits kept until the socket is connected, as socket.io-client's packets (a copy);
   *  `socket.sendBuffer = []` drops them (only `[]` can be assigned). */
  sendBuffer: { type: 2; data: any[]; options: { compress: boolean }; id?: number }[];
  /** The events received before the socket was connected (a copy); `= []` drops them. */
  receiveBuffer: any[][];
  connect(): this;
  open(): this;
  disconnect(): this;
  close(): this;
  /** Sends `ev`; a trailing function gets the server's ack. */
  emit<Ev extends EventNames<EmitEvents>>(ev: Ev, ...args: EventParams<EmitEvents, Ev>): this;
  /** Sends `ev` and resolves with the server's ack (rejects on timeout or disconnection). */
  emitWithAck<Ev extends EventNames<EmitEvents>>(
    ev: Ev,
    ...args: AllButLast<EventParams<EmitEvents, Ev>>
  ): Promise<FirstArg<Last<EventParams<EmitEvents, Ev>>>>;
  /** Emits "message". */
  send(...args: any[]): this;
  /** The next emit's ack callback gets an error after `ms` without an answer. */
  timeout(ms: number): this;
  /** The next emit is dropped unless it can be sent at once. */
  readonly volatile: this;
  /** Accepted for compatibility: browsers decide WebSocket compression themselves. */
  compress(compress: boolean): this;
  onAny(listener: (ev: string, ...args: any[]) => void): this;
  prependAny(listener: (ev: string, ...args: any[]) => void): this;
  offAny(listener?: (ev: string, ...args: any[]) => void): this;
  listenersAny(): ((ev: string, ...args: any[]) => void)[];
  onAnyOutgoing(listener: (ev: string, ...args: any[]) => void): this;
  prependAnyOutgoing(listener: (ev: string, ...args: any[]) => void): this;
  offAnyOutgoing(listener?: (ev: string, ...args: any[]) => void): this;
  listenersAnyOutgoing(): ((ev: string, ...args: any[]) => void)[];
}

/** The socket of the URL's namespace (default: the page's origin, namespace "/"). */
export declare function io<ListenEvents extends EventsMap = DefaultEventsMap, EmitEvents extends EventsMap = ListenEvents>(
  uri?: string,
  opts?: Partial<ManagerOptions & SocketOptions>,
): Socket<ListenEvents, EmitEvents>;
export declare function io<ListenEvents extends EventsMap = DefaultEventsMap, EmitEvents extends EventsMap = ListenEvents>(
  opts: Partial<ManagerOptions & SocketOptions>,
): Socket<ListenEvents, EmitEvents>;
export { io as connect, io as default };

/** The Socket.IO protocol revision spoken (5). */
export declare const protocol: number;
