import { describe, expect, it } from 'vitest';
import { decodeNpy, encodeNpy } from '../../src/formats/npy.js';
import { overBound, threadCpuMs } from '../helpers/cpu.js';

// A .npy file with the given header dict, version and data bytes, laid out as numpy.lib.format does.
function npy(dict: string, data: Uint8Array, version = 1): Buffer {
  const lengthBytes = version === 1 ? 2 : 4;
  const unpadded = 8 + lengthBytes + dict.length + 1;
  const header = Buffer.from(dict + ' '.repeat((64 - (unpadded % 64)) % 64) + '\n', version === 3 ? 'utf8' : 'latin1');
  const preamble = Buffer.alloc(8 + lengthBytes);
  preamble.write('\x93NUMPY', 'latin1');
  preamble[6] = version;
  if (version === 1) preamble.writeUInt16LE(header.length, 8);
  else preamble.writeUInt32LE(header.length, 8);
  return Buffer.concat([preamble, header, data]);
}

const floats = (values: number[], Type: Float32ArrayConstructor | Float64ArrayConstructor = Float32Array) =>
  new Uint8Array(Type.from(values).buffer);

describe('.npy', () => {
  it('writes what np.save writes: a 64-byte aligned header, then the float32 data', () => {
    const bytes = encodeNpy(Float32Array.of(1, -2, 3.5), [3]);
    expect(bytes.subarray(0, 8)).toEqual(Buffer.from('\x93NUMPY\x01\x00', 'latin1'));
    const headerEnd = 10 + bytes.readUInt16LE(8);
    expect(headerEnd % 64).toBe(0);
    expect(bytes.subarray(10, headerEnd).toString('latin1').trimEnd()).toBe("{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }");
    expect(decodeNpy(bytes)).toEqual({ dtype: 'float32', shape: [3], values: Float32Array.of(1, -2, 3.5) });
  });

  it('reads float32 and float64, header versions 1.0, 2.0 and 3.0, either quote, with or without the trailing comma', () => {
    expect(decodeNpy(npy("{'descr': '<f8', 'fortran_order': False, 'shape': (2, 1), }", floats([0.1, 7], Float64Array))))
      .toEqual({ dtype: 'float64', shape: [2, 1], values: Float64Array.of(0.1, 7) });
    expect(decodeNpy(npy('{"shape": (2,), "fortran_order": False, "descr": "<f4"}', floats([1, 2]), 2)).values).toEqual(Float32Array.of(1, 2));
    expect(decodeNpy(npy("{'descr':'<f4','fortran_order':False,'shape':(1,)}", floats([5]), 3)).values).toEqual(Float32Array.of(5));
  });

  it.each([
    ['no magic string', Buffer.from('PK\x03\x04 not numpy at all', 'latin1'), /no \\x93NUMPY magic/],
    ['an unknown version', npy("{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }", floats([1]), 4), /version 4\.0/],
    ['a header longer than the file', npy("{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }", floats([1])).subarray(0, 40), /truncated/],
    ['a preamble cut short', Buffer.from('\x93NUMPY\x02\x00\x10', 'latin1'), /truncated/],
    ['a huge header length', Buffer.concat([Buffer.from('\x93NUMPY\x02\x00', 'latin1'), Buffer.from([0, 0, 0, 1])]), /header of 16777216 bytes/],
    ['data cut short', npy("{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }", floats([1, 2])), /holds 8 bytes of data; shape \(3,\) of float32 needs 12 \(truncated\)/],
    ['data left over', npy("{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }", floats([1, 2])), /holds 8 bytes of data; shape \(1,\) of float32 needs 4$/],
    ['a header that is code, not a dict', npy("__import__('os').system('true')", floats([1])), /not the dict NumPy writes/],
    ['an unknown key', npy("{'descr': '<f4', 'fortran_order': False, 'shape': (1,), 'x': 1, }", floats([1])), /not the dict NumPy writes/],
    ['a key twice', npy("{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (1,), }", floats([1])), /a second key 'descr'/],
    ['a missing key', npy("{'descr': '<f4', 'shape': (1,), }", floats([1])), /without 'fortran_order'/],
    ['a structured dtype', npy("{'descr': [('x', '<f4')], 'fortran_order': False, 'shape': (1,), }", floats([1])), /structured array/],
    ['a pickled object array', npy("{'descr': '|O', 'fortran_order': False, 'shape': (1,), }", floats([1])), /object array \(pickled/],
    ['big-endian floats', npy("{'descr': '>f8', 'fortran_order': False, 'shape': (1,), }", floats([1], Float64Array)), /big-endian \(>f8\)/],
    ['integers', npy("{'descr': '<i4', 'fortran_order': False, 'shape': (1,), }", floats([1])), /dtype <i4; a model's arrays are float32 or float64 \(<f4, <f8\), little-endian, in C or Fortran order$/],
    ['an order that is neither', npy("{'descr': '<f4', 'fortran_order': 'F', 'shape': (1,), }", floats([1])), /fortran_order is 'F', not True or False/],
    ['a shape that is a list', npy("{'descr': '<f4', 'fortran_order': False, 'shape': [1], }", floats([1])), /shape that is not a tuple/],
    ['a shape of no sizes', npy("{'descr': '<f4', 'fortran_order': False, 'shape': (1 2), }", floats([1])), /not a tuple of sizes/],
  ])('refuses %s, saying why', (_name, bytes, why) => {
    expect(() => decodeNpy(bytes)).toThrow(why);
  });

  it('reads Fortran order (as np.save writes W.T) into C order', () => {
    // [[1, 2, 3], [4, 5, 6]] in Fortran order: column by column.
    const matrix = decodeNpy(npy("{'descr': '<f8', 'fortran_order': True, 'shape': (2, 3), }", floats([1, 4, 2, 5, 3, 6], Float64Array)));
    expect(matrix).toEqual({ dtype: 'float64', shape: [2, 3], values: Float64Array.of(1, 2, 3, 4, 5, 6) });
    // [2, 2, 2]: element (i, j, k) at i + 2j + 4k in the file, at 4i + 2j + k in C order.
    const cube = decodeNpy(npy("{'descr': '<f4', 'fortran_order': True, 'shape': (2, 2, 2), }", floats([0, 4, 2, 6, 1, 5, 3, 7])));
    expect(cube.values).toEqual(Float32Array.of(0, 1, 2, 3, 4, 5, 6, 7));
    expect(decodeNpy(npy("{'descr': '<f4', 'fortran_order': True, 'shape': (3, 1), }", floats([7, 8, 9]))).values).toEqual(Float32Array.of(7, 8, 9));
  });

  // A header is read by a scanner that only moves forward: no header, however it is built, costs
  // more than a pass over its at most 4096 bytes. The first was a regular expression that
  // backtracked: '{' and 2,000 spaces took it 2 s of CPU, 4,090 spaces 15 s.
  const pathological: Array<[string, string]> = [
    ['an opening brace and 4,090 spaces', '{' + ' '.repeat(4090)],
    ['4,090 spaces and a closing brace', ' '.repeat(4090) + '}'],
    ['a brace, spaces, a brace and more spaces', '{' + ' '.repeat(2000) + '}' + ' '.repeat(2000) + 'x'],
    ['a key, then 4,000 spaces and no colon', "{'descr'" + ' '.repeat(4000)],
    ['a string never closed', "{'descr': '" + '<'.repeat(4000)],
    ['a tuple never closed', "{'shape': (" + '1, '.repeat(1300)],
    ['a list never closed', "{'descr': [" + "('x', '<f4'), ".repeat(250)],
    ['4,000 opening brackets', "{'descr': " + '['.repeat(4000)],
    ['entries repeated with no commas', "{'descr': '<f4' ".repeat(250)],
    ['commas and spaces alternating', '{' + ', '.repeat(2040)],
    ['quotes alternating', '{' + `'"`.repeat(2040)],
    ['words that almost say True', "{'fortran_order': " + 'Tru '.repeat(1000)],
  ];
  it.each(pathological)('refuses a header of %s in well under a millisecond a byte', (_name, header) => {
    expect(header.length).toBeLessThanOrEqual(4096);
    const bytes = npy(header, new Uint8Array(0));
    const before = threadCpuMs();
    expect(() => decodeNpy(bytes)).toThrow(/header/);
    expect(overBound(threadCpuMs() - before, 20)).toBeUndefined();
  });
});
