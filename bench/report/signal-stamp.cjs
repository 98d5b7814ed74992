// The child for the signal-forwarding latency: prints "ready", then for each SIGUSR1 the
// monotonic clock (process.hrtime.bigint, ns; the same clock in every process of the machine)
// at which its handler ran; exits 0 on SIGTERM.
process.on('SIGUSR1', () => process.stdout.write(`USR1 ${process.hrtime.bigint()}\n`));
process.on('SIGTERM', () => process.exit(0));
process.stdout.write('ready\n');
setInterval(() => {}, 1 << 30);
