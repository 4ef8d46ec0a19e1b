import { deflateRawSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import yazl from 'yazl';
import { modelFromNpz, modelToNpz } from '../../src/formats/model-npz.js';
import { encodeNpy } from '../../src/formats/npy.js';
import { overBound } from '../helpers/cpu.js';

const weights = Float32Array.from({ length: 7840 }, (_, i) => Math.sin(i) / 10);
const bias = Float32Array.from({ length: 10 }, (_, i) => i / 100);

// A zip of the given entries (yazl, as any zip tool would write it).
function zip(entries: Array<[string, Buffer, { compress?: boolean; directory?: boolean }?]>): Promise<Buffer> {
  const file = new yazl.ZipFile();
  for (const [name, data, options = {}] of entries) {
    if (options.directory) file.addEmptyDirectory(name);
    else file.addBuffer(data, name, { compress: options.compress ?? false });
  }
  file.end();
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    file.outputStream.on('data', (chunk: Buffer) => chunks.push(chunk));
    file.outputStream.on('end', () => resolve(Buffer.concat(chunks)));
  });
}

const validEntries = (): Array<[string, Buffer]> => [['W.npy', encodeNpy(weights, [784, 10])], ['b.npy', encodeNpy(bias, [10])]];

// The central directory record of the entry called `name` (where yauzl reads sizes and flags).
function centralRecord(bytes: Buffer, name: string): number {
  for (let at = bytes.lastIndexOf(Buffer.from('PK\x01\x02', 'latin1')); at >= 0; at = bytes.lastIndexOf(Buffer.from('PK\x01\x02', 'latin1'), at - 1)) {
    const nameLength = bytes.readUInt16LE(at + 28);
    if (bytes.toString('latin1', at + 46, at + 46 + nameLength) === name) return at;
  }
  throw new Error(`no entry ${name}`);
}

const refusal = (bytes: Buffer) => modelFromNpz(bytes).then(() => 'accepted', (error: Error) => `${error.name}: ${error.message}`);

describe('NPZ models', () => {
  it('round-trips W and b exactly', async () => {
    const params = await modelFromNpz(await modelToNpz({ weights, bias }));
    expect(params.weights).toEqual(weights);
    expect(params.bias).toEqual(bias);
  });

  it('refuses a zip bomb by its stated size, before inflating anything', async () => {
    // 64 MiB of zeros deflate to about 64 KB.
    const bomb = await zip([['W.npy', Buffer.alloc(64 * 1024 * 1024), { compress: true }], ['b.npy', encodeNpy(bias, [10])]]);
    // The CPU of the whole process, not of this thread: zlib inflates on libuv's thread pool, and
    // 64 MiB would cost it 100–300 ms there. Refused by its header, the file costs a few ms.
    const before = process.cpuUsage();
    expect(await refusal(bomb)).toBe('ModelFileError: the NPZ file W.npy inflates to 67108864 bytes; a model\'s arrays take at most 131072');
    const { user, system } = process.cpuUsage(before);
    expect(overBound((user + system) / 1000, 50)).toBeUndefined();
  });

  it('stops a bomb that lies about its size as soon as it inflates past what it claimed', async () => {
    const entries = validEntries();
    const bytes = await zip([['W.npy', Buffer.alloc(1024 * 1024), { compress: true }], entries[1]]);
    bytes.writeUInt32LE(entries[0][1].length, centralRecord(bytes, 'W.npy') + 24); // claims a W-sized array
    expect(await refusal(bytes)).toMatch(/^ModelFileError: the NPZ file W\.npy cannot be read \(too many bytes in the stream/);
  });

  it('refuses a corrupt entry by its CRC-32', async () => {
    const bytes = await zip(validEntries());
    bytes[bytes.indexOf(Buffer.from('\n', 'latin1'), bytes.indexOf('NUMPY')) + 100] ^= 0xff; // a byte of W's data
    expect(await refusal(bytes)).toBe('ModelFileError: the NPZ file W.npy fails its CRC-32 check (the file is corrupt)');
  });

  it('refuses encrypted entries, unknown compression methods and directories', async () => {
    const encrypted = await zip(validEntries().map(([name, data]) => [name, data, { compress: true }]));
    encrypted[centralRecord(encrypted, 'W.npy') + 8] |= 1;
    expect(await refusal(encrypted)).toBe('ModelFileError: the NPZ file W.npy is encrypted');
    const bzip2 = await zip(validEntries());
    bzip2.writeUInt16LE(12, centralRecord(bzip2, 'b.npy') + 10);
    expect(await refusal(bzip2)).toBe('ModelFileError: the NPZ file b.npy uses zip compression method 12; NumPy writes 0 (stored) or 8 (deflate)');
    const directory = await zip([['models/', Buffer.alloc(0), { directory: true }], ...validEntries()]);
    expect(await refusal(directory)).toBe('ModelFileError: the NPZ file holds a directory (models/); an NPZ holds .npy files only');
  });

  it('refuses archives of too many entries, unsafe names, or one name twice', async () => {
    const many = await zip(Array.from({ length: 9 }, (_, i) => [`a${i}.npy`, encodeNpy(bias, [10])] as [string, Buffer]));
    expect(await refusal(many)).toBe('ModelFileError: the NPZ file holds 9 entries; an NPZ model holds 8 at most');
    // yazl refuses to write such a name, so it is written into the bytes afterwards.
    const escaping = await zip([['abcW.npy', encodeNpy(weights, [784, 10])], ['b.npy', encodeNpy(bias, [10])]]);
    for (let at = escaping.indexOf('abcW.npy'); at >= 0; at = escaping.indexOf('abcW.npy', at + 1)) escaping.write('../W.npy', at, 'latin1');
    expect(await refusal(escaping)).toMatch(/^ModelFileError: the NPZ file is not a readable zip archive \(invalid relative path/);
    const twice = await zip([...validEntries(), ['W.npy', encodeNpy(weights, [784, 10])]]);
    expect(await refusal(twice)).toBe('ModelFileError: the NPZ file holds W.npy twice');
  });

  it('refuses what is not a zip, or a zip cut short', async () => {
    expect(await refusal(Buffer.from('W,b\n1,2\n'))).toMatch(/^ModelFileError: the NPZ file is not a readable zip archive/);
    const bytes = await zip(validEntries());
    expect(await refusal(bytes.subarray(0, bytes.length - 30))).toMatch(/^ModelFileError: the NPZ file is not a readable zip archive/);
    expect(await refusal(deflateRawSync(bytes))).toMatch(/^ModelFileError: the NPZ file is not a readable zip archive/);
  });
});
