import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { GraceDeadline } from '../../src/init/grace-deadline.js';

describe('GraceDeadline', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('is reached graceMs after the first shutdown signal', async () => {
    const deadline = new GraceDeadline(1000);
    expect(deadline.onShutdownSignal()).toBe('started');
    vi.advanceTimersByTime(999);
    expect(deadline.isOver()).toBe(false);
    vi.advanceTimersByTime(1);
    await deadline.reached;
    expect(deadline.isOver()).toBe(true);
  });

  it('is cut short by a second shutdown signal', async () => {
    const deadline = new GraceDeadline(60_000);
    deadline.onShutdownSignal();
    expect(deadline.onShutdownSignal()).toBe('cut');
    await deadline.reached;
    expect(deadline.isOver()).toBe(true);
  });

  it("is not cut by the first signal when the child's own exit started it", () => {
    const deadline = new GraceDeadline(60_000);
    deadline.start();
    expect(deadline.onShutdownSignal()).toBe('started');
    expect(deadline.isOver()).toBe(false);
    expect(deadline.onShutdownSignal()).toBe('cut');
  });

  it('does not restart when started twice', () => {
    const deadline = new GraceDeadline(1000);
    deadline.start();
    vi.advanceTimersByTime(600);
    deadline.start();
    vi.advanceTimersByTime(400);
    expect(deadline.isOver()).toBe(true);
  });
});
