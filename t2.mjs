import '@endo/init';
import { xsnap } from '@agoric/xsnap';
import { spawn } from 'node:child_process';
import os from 'node:os';
import fs from 'node:fs';
import tmp from 'tmp';
const w = await xsnap({ os: os.type(), spawn, fs: {...fs, ...fs.promises, tmpName: tmp.tmpName}, name: 'dev', stdout: 'inherit', stderr: 'inherit' });
await w.evaluate('globalThis.x = []; gc();');
const chunks = []; for await (const c of w.makeSnapshotStream('m')) chunks.push(c);
const buf = Buffer.concat(chunks); console.log('snapshot bytes', buf.length);
let off = 0; function walk(b, start, end, depth) { let o = start; while (o + 8 <= end) { const size = b.readUInt32BE(o); const tag = b.toString('latin1', o+4, o+8); console.log(' '.repeat(depth*2) + tag, size); if (tag === 'XS_M') walk(b, o+8, o+size, depth+1); o += size; } }
walk(buf, 0, buf.length, 0);
await w.close();
