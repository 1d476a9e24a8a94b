/*
 * host-sim's "moddable" engine: the C host of an x-cli-lin program that mcconfig builds
 * from host-sim/engine/moddable/manifest.json (the firmware and host-sim's XS-side host
 * layer, compiled by tsc/xsc and linked by xsl into one preloaded archive).
 *
 * It speaks the netstring protocol of @agoric/xsnap's xsnap-worker on fds 3 (from Node)
 * and 4 (to Node), the part of it that host-sim/device.js uses, so that xsnap's Node
 * client drives it unchanged through its `spawn` hook:
 *   "?<bytes>"  call globalThis.handleCommand(ArrayBuffer); reply ".<meter JSON>\1<bytes>"
 *   "e<names>"  import each module named on its own line (what evaluate() of a bundle is on
 *               xsnap: here the code is in the archive already); reply "." or "!<error>"
 *   "R"         ready: reply "."
 *   "w<path>"   snapshot: unsupported here (heap figures come in the meter JSON); reply "!"
 *   "q"         quit
 * and, inside a command, globalThis.issueCommand(ArrayBuffer) writes "?<bytes>" to Node and
 * returns the bytes of its "/<bytes>" reply. The meter JSON carries xsnap's fields
 * (currentHeapCount, compute, allocate, timestamps) and chunkBytes, the chunk heap in use.
 *
 * Watchdog: with mxMetering (the build passes -DmxMetering=1) each command runs metered;
 * past the limit given with -l (xsnap's argument) the program exits with xsnap's code 17,
 * "too much computation", which host-sim treats as the ESP32's task watchdog reset.
 */

#include "xsAll.h"
#include "mc.xs.h" /* xs.h, and xsPreparationAndCreation() of the archive xsl linked */
#include <sys/time.h>

static FILE* fromParent;
static FILE* toParent;
static txU8 meterLimit = 100000000; /* xsnap's DEFAULT_CRANK_METERING_LIMIT */
static txU8 meterUsed = 0;

#define STAMPS 2000
static double stamps[STAMPS];
static int stampCount = 0;

static double now(void)
{
	struct timeval tv;
	gettimeofday(&tv, NULL);
	return (double)tv.tv_sec + (double)tv.tv_usec / 1e6;
}

static void stamp(void)
{
	if (stampCount < STAMPS)
		stamps[stampCount++] = now();
}

/* xsnap's exit codes are XS's abort statuses plus 10 */
void fxAbort(txMachine* the, int status)
{
	txString why = fxAbortString(status);
	fprintf(stderr, "Error: %s\n", why);
	fflush(stderr);
	exit(10 + status);
}

static int readNetString(char** dest, size_t* len)
{
	char* buf;
	if (fscanf(fromParent, "%9zu", len) < 1) return 1;
	if (fgetc(fromParent) != ':') return 2;
	buf = malloc(*len + 1);
	if (!buf) return 3;
	if (fread(buf, 1, *len, fromParent) < *len) { free(buf); return 4; }
	if (fgetc(fromParent) != ',') { free(buf); return 5; }
	buf[*len] = 0;
	*dest = buf;
	return 0;
}

static int writeNetString(const char* prefix, const char* buf, size_t length)
{
	if (fprintf(toParent, "%zu:%s", length + strlen(prefix), prefix) < 1) return 1;
	if (length && fwrite(buf, 1, length, toParent) < length) return 2;
	if (fputc(',', toParent) == EOF) return 3;
	if (fflush(toParent) < 0) return 4;
	return 0;
}

static void fatalIO(const char* what)
{
	fprintf(stderr, "host-sim engine: %s\n", what);
	exit(2); /* xsnap's E_IO_ERROR */
}

#ifdef mxMetering
static txBoolean meterCallback(txMachine* the, txU8 index)
{
	meterUsed = index;
	return (meterLimit == 0) || (meterUsed < meterLimit);
}
#endif

static void xs_issueCommand(xsMachine* the)
{
	size_t length, len;
	char* buf;
	if (xsToInteger(xsArgc) < 1)
		xsTypeError("expected ArrayBuffer");
	length = xsGetArrayBufferLength(xsArg(0));
	stamp();
	if (writeNetString("?", xsToArrayBuffer(xsArg(0)), length)) fatalIO("cannot write a command to Node");
	if (readNetString(&buf, &len)) {
		if (feof(fromParent)) fatalIO("end of input while waiting for Node's reply: has Node gone?");
		xsUnknownError("cannot read Node's reply");
	}
	stamp();
	if (len == 0 || buf[0] != '/') {
		free(buf);
		xsUnknownError("unexpected reply from Node");
	}
	xsResult = xsArrayBuffer(buf + 1, (xsIntegerValue)(len - 1));
	free(buf);
}

/* Math.random is rand() (xsMath.c): host-sim seeds it at each boot, for repeatable runs */
static void xs_seedRandom(xsMachine* the)
{
	srand((unsigned)xsToInteger(xsArg(0)));
}

static void xs_gc(xsMachine* the)
{
	xsCollectGarbage();
}

static void xs_performance_now(xsMachine* the)
{
	xsResult = xsNumber(now() * 1000);
}

/* by its kind, not its prototype: freezing ArrayBuffer.prototype, which lives in the archive,
   gives the machine a copy of it (an alias), so an instanceof against the archive's fails */
static int isArrayBuffer(txSlot* slot)
{
	txSlot* instance;
	if (slot->kind != XS_REFERENCE_KIND) return 0;
	instance = slot->value.reference;
	return instance->next && (instance->next->kind == XS_ARRAY_BUFFER_KIND);
}

static void runPromiseJobs(void)
{
	/* lin_xs.c queues promise jobs as idle sources of the default main context */
	while (g_main_context_iteration(NULL, FALSE))
		;
}

static int writeOkay(txMachine* the, const char* reply, size_t length)
{
	char prefix[160 + STAMPS * 24];
	int at;
	int i;
	stamp();
	at = snprintf(prefix, 160, ".{\"currentHeapCount\":%ld,\"chunkBytes\":%ld,\"compute\":%llu,\"allocate\":%ld,\"timestamps\":[",
		(long)the->currentHeapCount, (long)the->currentChunksSize, (unsigned long long)meterUsed, (long)the->currentChunksSize);
	for (i = 0; i < stampCount; i++)
		at += snprintf(prefix + at, 24, "%s%.6f", i ? "," : "", stamps[i]);
	prefix[at++] = ']';
	prefix[at++] = '}';
	prefix[at++] = '\1';
	prefix[at] = 0;
	return writeNetString(prefix, reply, length);
}

int main(int argc, char* argv[])
{
	txMachine* the;
	int i;
	void* preparation = xsPreparationAndCreation(NULL);
	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-l") && (i + 1 < argc))
			meterLimit = strtoull(argv[++i], NULL, 10);
		else if (!strcmp(argv[i], "-s") && (i + 1 < argc))
			i++;
	}
	fromParent = fdopen(3, "rb");
	toParent = fdopen(4, "wb");
	if (!fromParent || !toParent) {
		fprintf(stderr, "host-sim engine: fds 3 and 4 must be pipes from and to Node (run it through host-sim)\n");
		return 1;
	}
	the = xsPrepareMachine(NULL, preparation, argc > 1 ? argv[1] : "host-sim", NULL, NULL);
	if (!the) {
		fprintf(stderr, "host-sim engine: cannot create the machine\n");
		return 11;
	}
	xsBeginHost(the);
	{
		xsVars(1);
		xsResult = xsNewHostFunction(xs_issueCommand, 1);
		xsDefine(xsGlobal, xsID("issueCommand"), xsResult, xsDontEnum);
		xsResult = xsNewHostFunction(xs_seedRandom, 1);
		xsDefine(xsGlobal, xsID("seedRandom"), xsResult, xsDontEnum);
		xsResult = xsNewHostFunction(xs_gc, 0);
		xsDefine(xsGlobal, xsID("gc"), xsResult, xsDontEnum);
		xsVar(0) = xsNewObject();
		xsResult = xsNewHostFunction(xs_performance_now, 0);
		xsDefine(xsVar(0), xsID("now"), xsResult, xsDontEnum);
		xsDefine(xsGlobal, xsID("performance"), xsVar(0), xsDontEnum);
	}
	xsEndHost(the);

	for (;;) {
		char* message;
		size_t length;
		char command;
		int failed = 0;
		char* response = NULL;
		size_t responseLength = 0;
		stampCount = 0;
		meterUsed = 0;
		if (readNetString(&message, &length)) {
			if (feof(fromParent)) break;
			fatalIO("cannot read a message from Node");
		}
		stamp();
		command = length ? message[0] : 0;
		switch (command) {
		case 'R':
			if (writeNetString(".", "", 0)) fatalIO("cannot write to Node");
			break;
		case '?':
		case 'e':
			xsBeginHost(the);
			{
				xsVars(3);
				xsBeginMetering(the, meterCallback, 16);
				{
					xsTry {
						if (command == '?') {
							xsVar(0) = xsArrayBuffer(message + 1, (xsIntegerValue)(length - 1));
							xsVar(1) = xsCall1(xsGlobal, xsID("handleCommand"), xsVar(0));
						}
						else {
							/* one module specifier per line, imported in order */
							char* name = message + 1;
							while (*name) {
								char* end = strchr(name, '\n');
								if (end) *end = 0;
								if (*name) xsAwaitImport(name, XS_IMPORT_NAMESPACE);
								if (!end) break;
								name = end + 1;
							}
							xsVar(1) = xsUndefined;
						}
					}
					xsCatch {
						failed = 1;
						xsVar(1) = xsException;
						xsException = xsUndefined;
					}
					runPromiseJobs();
				}
				xsEndMetering(the);
				if (failed) {
					xsTry {
						xsVar(2) = xsCall0(xsVar(1), xsID("toString"));
						if (getenv("HOST_SIM_ENGINE_STACKS") && xsTypeOf(xsVar(1)) == xsReferenceType) {
							xsVar(0) = xsGet(xsVar(1), xsID("stack"));
							if (xsTypeOf(xsVar(0)) == xsStringType) fprintf(stderr, "%s\n", xsToString(xsVar(0)));
						}
					}
					xsCatch {
						xsVar(2) = xsString("exception");
						xsException = xsUndefined;
					}
					response = strdup(xsToString(xsVar(2)));
					responseLength = strlen(response);
				}
				else if (isArrayBuffer(&xsVar(1))) {
					responseLength = xsGetArrayBufferLength(xsVar(1));
					response = malloc(responseLength + 1);
					memcpy(response, xsToArrayBuffer(xsVar(1)), responseLength);
				}
			}
			xsEndHost(the);
			if (failed ? writeNetString("!", response, responseLength) : writeOkay(the, response, responseLength))
				fatalIO("cannot write to Node");
			free(response);
			break;
		case 'w':
			if (writeNetString("!", "snapshots are not supported by host-sim's moddable engine", 58)) fatalIO("cannot write to Node");
			break;
		case 'q':
			free(message);
			goto done;
		default:
			if (writeNetString("!", "unknown command", 15)) fatalIO("cannot write to Node");
			break;
		}
		free(message);
	}
done:
	xsDeleteMachine(the);
	return 0;
}
