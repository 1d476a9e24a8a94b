#!/usr/bin/env node
// npm start: the local LwM2M server, the simulated thermostats (the firmware on XS, each
// heating its room) and the web dashboard, in one process, until Ctrl-C. See
// host-sim/main-job.js for the job itself and `npm start -- --help` for the options.
//   npm start                       real time x60, dashboard on http://127.0.0.1:8090/
//   npm start -- --devices 3        a small fleet
//   npm start -- --hours 24         24 simulated hours in virtual time, then a summary
import { parseCommandLine, startMainJob, UsageError, USAGE } from "../main-job.js";

let options;
try {
	options = parseCommandLine(process.argv.slice(2));
} catch (e) {
	if (!(e instanceof UsageError)) throw e;
	console.error(`npm start: ${e.message}\n(npm start -- --help for the options)`);
	process.exit(2);
}
if (options.help) {
	console.log(USAGE);
	process.exit(0);
}

let job;
let interrupted = 0;
const onSignal = (signal) => {
	if (++interrupted > 1) {
		console.error(`\n${signal} again: exiting without waiting`);
		process.exit(130);
	}
	console.log(`\n${signal}: stopping`);
	if (!job) return; // still starting: stopped as soon as it has started
	if (options.hours !== undefined) return void (job.cancelRun = true); // summary, then stop
	stop();
};
const stop = () =>
	job.stop().then(
		() => process.exit(0),
		(e) => {
			console.error(e);
			process.exit(1);
		},
	);
process.on("SIGINT", () => onSignal("SIGINT"));
process.on("SIGTERM", () => onSignal("SIGTERM"));

try {
	job = await startMainJob(options);
} catch (e) {
	if (e instanceof UsageError) {
		console.error(`npm start: ${e.message}`);
		process.exit(2);
	}
	console.error(`npm start: ${/EADDRINUSE/.test(e.message) ? `${e.message}\n(a port is taken: is another npm start running? choose others with --coap-port, --http-port, --dashboard-port, or 0 for any free port)` : e.stack ?? e.message}`);
	process.exit(1);
}

if (interrupted) await stop();
else if (options.hours !== undefined) {
	await job.runHours();
	console.log(job.summary());
	await job.stop();
	process.exit(0);
}
