/**
 * `Promise.withResolvers` for Node 20 (it arrived in Node 22); aws-local-stepfunctions 3 calls it. Import
 * this module before aws-local-stepfunctions. A no-op where the runtime has it.
 *
 * @example
 * import './promise-with-resolvers';
 * import { StateMachine } from 'aws-local-stepfunctions';
 */
type WithResolvers = <T>() => { promise: Promise<T>; resolve: (value: T | PromiseLike<T>) => void; reject: (reason?: unknown) => void };

const P = Promise as unknown as { withResolvers?: WithResolvers };
if (typeof P.withResolvers !== 'function') {
  P.withResolvers = <T>() => {
    let resolve!: (value: T | PromiseLike<T>) => void;
    let reject!: (reason?: unknown) => void;
    const promise = new Promise<T>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    return { promise, resolve, reject };
  };
}

export {};
