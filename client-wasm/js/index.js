// The ES module pages import: the wasm client's exports plus what wasm-bindgen cannot express
// (variadic methods, a `Manager` constructor, component-emitter's aliases). No logic here.
import init, { initSync, io, Manager as WasmManager, Socket, _manager } from "./wasm/sio_client.js";

/** `new Manager(url, opts)`, as in socket.io-client. */
export function Manager(uri, opts) {
  return _manager(uri, opts);
}
Manager.prototype = WasmManager.prototype;

const S = Socket.prototype;
S.emit = function (ev, ...args) {
  return this._emit(ev, args, false);
};
S.send = S.write = function (...args) {
  return this._emit("message", args, false);
};
S.emitWithAck = function (ev, ...args) {
  return new Promise((resolve, reject) => this._emit(ev, [...args, (err, res) => (err ? reject(err) : resolve(res))], true));
};
for (const P of [S, WasmManager.prototype]) {
  P.addEventListener = P.on;
  P.removeListener = P.removeAllListeners = P.removeEventListener = P.off;
}

export default init;
export { initSync, io, io as connect, Socket };
