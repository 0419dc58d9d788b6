// What global-setup.ts (in Node) provides to the tests inside workerd: `inject('fakeUpstream')`.
import 'vitest';

declare module 'vitest' {
  export interface ProvidedContext {
    /** the fake upstream's origin, e.g. http://127.0.0.1:41234 */
    fakeUpstream: string;
  }
}
