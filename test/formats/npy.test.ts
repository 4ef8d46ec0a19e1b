import { describe, expect, it } from 'vitest';
import { decodeNpy, encodeNpy } from '../../src/formats/npy.js';

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
    ['integers', npy("{'descr': '<i4', 'fortran_order': False, 'shape': (1,), }", floats([1])), /dtype <i4; W and b must be float32/],
    ['Fortran order', npy("{'descr': '<f4', 'fortran_order': True, 'shape': (1,), }", floats([1])), /Fortran order/],
    ['a shape that is a list', npy("{'descr': '<f4', 'fortran_order': False, 'shape': [1], }", floats([1])), /shape that is not a tuple/],
    ['a shape of no sizes', npy("{'descr': '<f4', 'fortran_order': False, 'shape': (1 2), }", floats([1])), /not a tuple of sizes/],
  ])('refuses %s, saying why', (_name, bytes, why) => {
    expect(() => decodeNpy(bytes)).toThrow(why);
  });
});
