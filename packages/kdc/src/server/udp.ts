/**
 * Kerberos over UDP (RFC 4120 §7.2.1): one request per datagram, one reply
 * (or none) to the sender. Replies over the size cap become
 * KRB_ERR_RESPONSE_TOO_BIG in the handler. Before any decoding: a datagram
 * whose first byte is neither AS-REQ nor TGS-REQ is dropped, and one over
 * its address's request budget (./rate-limit.ts) too, so a flood from one
 * address costs a byte test and a Map lookup per datagram.
 */
import type dgram from 'node:dgram';
import { serveRequest } from '../exchange/handler.js';
import type { HandlerContext } from '../exchange/handler.js';
import type { RequestGate } from './rate-limit.js';

const AS_REQ_TAG = 0x6a;
const TGS_REQ_TAG = 0x6c;

export function serveUdp(socket: dgram.Socket, ctx: HandlerContext, gate?: RequestGate): void {
  socket.on('message', (msg, rinfo) => {
    if (gate) {
      const tag = msg.length ? msg[0] : -1;
      if (tag !== AS_REQ_TAG && tag !== TGS_REQ_TAG) return gate.junk(rinfo.address);
      if (!gate.admit(rinfo.address, 'udp')) return;
    }
    try {
      const result = serveRequest(new Uint8Array(msg.buffer, msg.byteOffset, msg.length), ctx, { transport: 'udp', address: rinfo.address, port: rinfo.port });
      // No completion callback: it would cost a call back into JS per reply, and a failed send is dropped either way (the client retransmits).
      if (!(result instanceof Promise)) {
        if (result.reply) socket.send(result.reply, rinfo.port, rinfo.address);
      } else {
        // The store is reading a principal (PostgreSQL): answer when it is in.
        result.then((r) => {
          if (r.reply) socket.send(r.reply, rinfo.port, rinfo.address);
        }, () => {});
      }
    } catch {
      // serveRequest answers every failure itself; anything left is dropped.
    }
  });
  // Errors of a datagram socket (e.g. ICMP port unreachable surfacing) are not fatal.
  socket.on('error', () => {});
}
