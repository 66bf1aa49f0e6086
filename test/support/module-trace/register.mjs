/* global process */
// `node --import <this file> …`: at exit, writes the URL of every module the process loaded (one per
// line) to the file named by MODULE_TRACE_FILE. The hooks run on their own thread, so the URLs are
// drained synchronously at exit: none is missed by a process that ends with process.exit().
import { writeFileSync } from 'node:fs';
import { register } from 'node:module';
import { MessageChannel, receiveMessageOnPort } from 'node:worker_threads';

const { port1, port2 } = new MessageChannel();
register('./hooks.mjs', import.meta.url, { data: { port: port2 }, transferList: [port2] });
process.on('exit', () => {
  const urls = [];
  for (let message = receiveMessageOnPort(port1); message; message = receiveMessageOnPort(port1)) urls.push(message.message);
  writeFileSync(process.env.MODULE_TRACE_FILE, `${urls.join('\n')}\n`);
});
