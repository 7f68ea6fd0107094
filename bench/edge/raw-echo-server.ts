/**
 * The raw grpc-js floor's server (run as its own process by the edge bench): one unary method,
 * `/edge.Raw/Echo`, whose request and response are Buffers passed through as they are (no proto,
 * no interceptors, no handler work). It listens on 127.0.0.1:0, prints its port on stdout, and
 * stops on SIGTERM.
 */
import * as grpc from '@grpc/grpc-js';

const identity = (b: Buffer): Buffer => b;
const server = new grpc.Server();
server.addService(
  {
    Echo: {
      path: '/edge.Raw/Echo',
      requestStream: false,
      responseStream: false,
      requestSerialize: identity,
      requestDeserialize: identity,
      responseSerialize: identity,
      responseDeserialize: identity,
    },
  },
  {
    Echo: (call: grpc.ServerUnaryCall<Buffer, Buffer>, callback: grpc.sendUnaryData<Buffer>) =>
      callback(null, call.request),
  },
);
server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (error, port) => {
  if (error !== null) {
    process.stderr.write(`raw echo server: ${error.message}\n`);
    process.exit(1);
  }
  process.stdout.write(`${port}\n`);
});
process.on('SIGTERM', () => server.forceShutdown());
