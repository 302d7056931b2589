/**
 * Kerberos over UDP (RFC 4120 §7.2.1): one request per datagram, one reply
 * (or none) to the sender. Replies over the size cap become
 * KRB_ERR_RESPONSE_TOO_BIG in the handler.
 */
import type dgram from 'node:dgram';
import { processRequest } from '../exchange/handler.js';
import type { HandlerContext } from '../exchange/handler.js';

export function serveUdp(socket: dgram.Socket, ctx: HandlerContext): void {
  socket.on('message', (msg, rinfo) => {
    try {
      const result = processRequest(new Uint8Array(msg.buffer, msg.byteOffset, msg.length), ctx, { transport: 'udp', address: rinfo.address, port: rinfo.port });
      // No completion callback: it would cost a call back into JS per reply, and a failed send is dropped either way (the client retransmits).
      if (result.reply) socket.send(result.reply, rinfo.port, rinfo.address);
    } catch {
      // processRequest answers every failure itself; anything left is dropped.
    }
  });
  // Errors of a datagram socket (e.g. ICMP port unreachable surfacing) are not fatal.
  socket.on('error', () => {});
}
