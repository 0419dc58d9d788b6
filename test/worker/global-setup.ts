/**
 * The workerd project's global setup, in Node: the fake upstream the Worker under test forwards to. Tests inside
 * workerd cannot reach this object, so they get its origin (`inject('fakeUpstream')`) and drive it over HTTP
 * (x-fake-behavior, /__fake/calls; see test/fixtures/fake-upstream.ts).
 */
import type { TestProject } from 'vitest/node';
import { startFakeUpstream } from '../fixtures/fake-upstream.js';

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const up = await startFakeUpstream();
  project.provide('fakeUpstream', up.origin);
  return () => up.close();
}
