// A stop made in the background: how it ended goes back to the step's state (finishStop), the
// stats and the log. The loop does not wait for it: a stop takes its grace, scans go on.
import type { StopRecord } from '../guard-stats.js';
import { recordStopEnd } from '../guard-stats.js';
import type { Instance } from '../instances.js';
import { finishStop } from '../step.js';
import type { Stop, StopEnd } from '../stops.js';
import type { GuardLoop } from './loop-parts.js';
import { type StopResult, stopInstance } from './stop-instance.js';

export function dispatchStop(loop: GuardLoop, stop: Stop, record: StopRecord): void {
  const { instance } = stop;
  stopInstance(instance, {
    method: stop.method,
    terminateIfIgnored: stop.terminateIfIgnored,
    graceMs: loop.options.stopGraceMs,
    ticksPerSecond: loop.ticksPerSecond,
    access: loop.access,
  })
    .then(
      (result) => stopEnded(loop, stop, record, result),
      (error: unknown) => stopFailed(loop, instance, error),
    )
    .catch((error: unknown) => loop.options.log.error({ err: error }, 'guard: after a stop'));
}

function stopEnded(loop: GuardLoop, stop: Stop, record: StopRecord, result: StopResult): void {
  const { log, stats } = loop.options;
  const { instance } = stop;
  const id = instance.id;
  const { close, ...figures } = result;
  if (close) loop.closers.learn(instance.launcher, close.answer, close.errno);
  const fields = {
    reason: stop.reason,
    key: loop.publish(instance.key),
    launcherPid: instance.launcher.pid,
    method: stop.method,
    ...figures,
    ...(close ? { stdinClose: close.answer } : {}),
  };
  if (result.interrupted === 0 && result.termed === 0 && result.killed === 0 && result.failed > 0) {
    loop.state.guard = finishStop(loop.state.guard, { id, refused: true }, Date.now());
    stats.failedStops += 1;
    log.error(fields, 'cannot stop MCP instance: the kernel refused every signal (EPERM: it runs as another user); not trying again');
    return;
  }
  const unmade = close !== undefined && close.answer !== 'closed';
  loop.state.guard = finishStop(loop.state.guard, { id, endedBy: result.endedBy, ...(unmade ? { unmade } : {}) }, Date.now());
  recordStopEnd(stats, record, result.endedBy);
  log.info(
    { ...fields, ending: ENDINGS[result.endedBy] },
    result.endedBy === 'survived'
      ? 'MCP instance not stopped'
      : result.endedBy === 'gone'
        ? 'MCP instance gone before it was stopped'
        : result.left === 0
          ? 'stopped MCP instance'
          : 'MCP instance partly stopped: some members are still there',
  );
}

function stopFailed(loop: GuardLoop, instance: Instance, error: unknown): void {
  loop.state.guard = finishStop(loop.state.guard, { id: instance.id, failed: true }, Date.now());
  loop.options.stats.failedStops += 1;
  loop.options.log.error({ err: error, key: loop.publish(instance.key) }, 'failed to stop MCP instance');
}

const ENDINGS: Record<StopEnd, string> = {
  'close-stdin': 'its server read EOF on its stdin and exited',
  interrupt: 'its server ended on SIGINT',
  terminate: 'ended on TERM',
  kill: 'KILLed after the stop grace',
  survived:
    'the stdin close or SIGINT did not end it (or the close could not be made), and no TERM could follow (no crash to spend, or the deadline came): left to run',
  gone: 'it had ended before any signal that could end it: the app closed it, or it exited of itself',
};
