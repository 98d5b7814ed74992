// Which launchers' stdin the guard may close: first what the start-up probe found (the kernel
// and its seccomp filter allow pidfd_getfd at all), then per launcher its fd 0 (a socket), and
// what a stop of it found (a socket its ancestors hold; a refusal, which the guard then takes
// for every launcher: it comes from the init's own rights, the same for all of them).
import { hasSocketStdin, type StdinCloseAnswer, type StdinCloseGrant } from '../../proc/close-stdin.js';
import { type ProcInfo, type ProcRef, refKey } from '../../proc/snapshot.js';

export class StdinClosers {
  private grantNow: StdinCloseGrant;
  /** Launchers a close was found not to fit (fd 0 shared with the app, or not a socket), while they live. */
  private readonly unclosable = new Map<string, ProcRef>();

  constructor(
    grant: StdinCloseGrant,
    private readonly procRoot: string | undefined,
    /** Told once, when a stop finds the close refused after the probe allowed it. */
    private readonly onRefused: (grant: StdinCloseGrant & { available: false }) => void,
  ) {
    this.grantNow = procRoot === undefined && grant.available ? { available: false, why: 'no /proc' } : grant;
  }

  get grant(): StdinCloseGrant {
    return this.grantNow;
  }

  /** The question for one scan's processes: each launcher's fd 0 is read at most once a scan. */
  forScan(procs: ReadonlyMap<number, ProcInfo>): (launcher: ProcRef) => boolean {
    for (const [key, ref] of this.unclosable) if (procs.get(ref.pid)?.startTicks !== ref.startTicks) this.unclosable.delete(key);
    const answered = new Map<string, boolean>();
    return (launcher) => {
      const { procRoot } = this;
      if (!this.grantNow.available || procRoot === undefined) return false;
      const key = refKey(launcher);
      let closable = answered.get(key);
      if (closable === undefined) {
        closable = !this.unclosable.has(key) && hasSocketStdin(launcher.pid, procRoot);
        answered.set(key, closable);
      }
      return closable;
    };
  }

  /** What a stop's close found out about its launcher, or about the init's rights. */
  learn(launcher: ProcRef, answer: StdinCloseAnswer, errno: number | undefined): void {
    if (answer === 'shared' || answer === 'not-a-socket') this.unclosable.set(refKey(launcher), launcher);
    if (answer !== 'refused' || !this.grantNow.available) return;
    const refused = {
      available: false as const,
      why: `pidfd_getfd refused on a launcher (${errno === 1 ? "EPERM: no ptrace access; the init needs the launchers' uid or CAP_SYS_PTRACE" : `errno ${errno}`})`,
    };
    this.grantNow = refused;
    this.onRefused(refused);
  }
}
