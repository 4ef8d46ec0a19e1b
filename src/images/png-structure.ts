import { crc32 } from 'node:zlib';
import { IMAGE_SIDE } from '../engine/softmax-regression.js';
import { ImageError } from './image-error.js';

// Far more than any 28×28 PNG with ordinary metadata needs: its image data is at most 6.4 kB
// (16-bit RGBA stored uncompressed), a large RGB ICC profile (sRGB v4) 60 kB, XMP a few kB.
// Checked before anything else, so that no CRC or inflation ever runs over a bigger file.
export const MAX_PNG_BYTES = 256 * 1024;

// Also far more than any real one has (IHDR, maybe PLTE, tRNS, a few IDATs and metadata
// chunks, IEND), and it bounds the walk: 21,000 empty chunks fit in MAX_PNG_BYTES, and walking
// them took 25–75 ms.
export const MAX_PNG_CHUNKS = 1000;

const SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

// The bit depths the PNG specification allows for each colour type.
const BIT_DEPTHS: Record<number, readonly number[]> = { 0: [1, 2, 4, 8, 16], 2: [8, 16], 3: [1, 2, 4, 8], 4: [8, 16], 6: [8, 16] };
const COLOUR_NAMES: Record<number, string> = { 0: 'grey', 2: 'RGB', 3: 'palette', 4: 'grey+alpha', 6: 'RGBA' };

export interface PngHeader {
  width: number;
  height: number;
  bitDepth: number;
  colorType: number;
  interlaced: boolean;
}

// What decoding needs of a PNG whose structure is sound: the header, the chunks that shape the
// pixels (whole, as they are in the file) and the image data (the IDATs' data, one zlib stream).
export interface PngStructure {
  header: PngHeader;
  headerChunk: Uint8Array;
  paletteChunk?: Uint8Array;
  transparencyChunk?: Uint8Array;
  imageData: Uint8Array[];
}

export function pngSizeError(bytes: number): ImageError | undefined {
  return bytes > MAX_PNG_BYTES ? new ImageError(`PNG is ${bytes} bytes; a 28×28 PNG is at most ${MAX_PNG_BYTES}`) : undefined;
}

function readHeader(data: Uint8Array): PngHeader {
  if (data.length !== 13) throw new ImageError(`PNG IHDR chunk is ${data.length} bytes, not 13`);
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const [width, height] = [view.getUint32(0), view.getUint32(4)];
  const [bitDepth, colorType, compression, filter, interlace] = data.subarray(8);
  if (width !== IMAGE_SIDE || height !== IMAGE_SIDE) throw new ImageError(`PNG is ${width}×${height}, expected ${IMAGE_SIDE}×${IMAGE_SIDE}`);
  const depths = BIT_DEPTHS[colorType];
  if (!depths) throw new ImageError(`PNG colour type ${colorType} does not exist (0, 2, 3, 4 or 6)`);
  if (!depths.includes(bitDepth)) {
    throw new ImageError(`PNG bit depth ${bitDepth} is not valid for colour type ${colorType} (${COLOUR_NAMES[colorType]}: ${depths.join(', ')})`);
  }
  if (compression !== 0) throw new ImageError(`PNG compression method ${compression} is not 0 (deflate)`);
  if (filter !== 0) throw new ImageError(`PNG filter method ${filter} is not 0`);
  if (interlace > 1) throw new ImageError(`PNG interlace method ${interlace} is neither 0 (none) nor 1 (Adam7)`);
  return { width, height, bitDepth, colorType, interlaced: interlace === 1 };
}

// Walks a PNG's chunks and refuses anything but one 28×28 image laid out as the PNG
// specification says: signature; IHDR first and once; PLTE and tRNS fitting the colour type,
// before the IDATs; consecutive IDATs; IEND last, with nothing after it; every length within
// the file and every CRC right; at most MAX_PNG_CHUNKS chunks. Ancillary chunks are checked and
// skipped; nothing is inflated.
export function readPngStructure(bytes: Uint8Array): PngStructure {
  const tooLarge = pngSizeError(bytes.length);
  if (tooLarge) throw tooLarge;
  if (bytes.length < SIGNATURE.length || SIGNATURE.some((byte, i) => bytes[i] !== byte)) {
    throw new ImageError('not a readable PNG (no PNG signature)');
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let png: PngStructure | undefined;
  let imageDataEnded = false;
  for (let at = SIGNATURE.length, chunks = 1; ; chunks++) {
    if (chunks > MAX_PNG_CHUNKS) throw new ImageError(`PNG has more than ${MAX_PNG_CHUNKS} chunks`);
    const left = bytes.length - at;
    if (left === 0) throw new ImageError(png?.imageData.length ? 'PNG ends without an IEND chunk' : 'PNG has no IDAT chunk and no IEND');
    if (left < 12) throw new ImageError(`PNG is truncated at byte ${at}: a chunk takes at least 12 bytes, ${left} are left`);
    const length = view.getUint32(at);
    const typeBytes = bytes.subarray(at + 4, at + 8);
    const type = String.fromCharCode(...typeBytes);
    if (!/^[A-Za-z]{4}$/.test(type)) throw new ImageError(`PNG chunk at byte ${at} has an invalid chunk type (0x${Buffer.from(typeBytes).toString('hex')})`);
    // Lengths up to 2³²−1 are read as they are: the file, at most MAX_PNG_BYTES, bounds them.
    if (length > left - 12) throw new ImageError(`PNG chunk ${type} at byte ${at} claims ${length} bytes of data, but the file has ${left - 12} left`);
    const end = at + 12 + length;
    if (crc32(bytes.subarray(at + 4, end - 4)) !== view.getUint32(end - 4)) throw new ImageError(`PNG chunk ${type} at byte ${at} fails its CRC check`);
    const data = bytes.subarray(at + 8, end - 4);

    if (!png) {
      if (type !== 'IHDR') throw new ImageError(`PNG must start with an IHDR chunk, not ${type}`);
      png = { header: readHeader(data), headerChunk: bytes.subarray(at, end), imageData: [] };
    } else if (type === 'IDAT') {
      if (imageDataEnded) throw new ImageError(`PNG IDAT chunks are not consecutive (another at byte ${at})`);
      if (png.header.colorType === 3 && !png.paletteChunk) throw new ImageError('PNG palette image has no PLTE chunk before its IDAT');
      png.imageData.push(data);
    } else {
      imageDataEnded ||= png.imageData.length > 0;
      const chunkBytes = bytes.subarray(at, end);
      if (type === 'IEND') {
        if (length !== 0) throw new ImageError('PNG IEND chunk is not empty');
        if (!png.imageData.length) throw new ImageError('PNG has no IDAT chunk');
        if (end !== bytes.length) throw new ImageError(`PNG has ${bytes.length - end} bytes after its IEND chunk`);
        return png;
      }
      if (type === 'IHDR') throw new ImageError(`PNG has a second IHDR chunk at byte ${at}`);
      if (type === 'PLTE') png.paletteChunk = checkPalette(png, length, chunkBytes);
      else if (type === 'tRNS') png.transparencyChunk = checkTransparency(png, length, chunkBytes);
      // A capital first letter marks a chunk a decoder must understand.
      else if (type.charCodeAt(0) < 0x61) throw new ImageError(`PNG has an unknown critical chunk ${type}`);
    }
    at = end;
  }
}

function checkPalette(png: PngStructure, length: number, chunkBytes: Uint8Array): Uint8Array {
  const { colorType, bitDepth } = png.header;
  if (colorType === 0 || colorType === 4) throw new ImageError(`a ${COLOUR_NAMES[colorType]} PNG must not have a palette (PLTE)`);
  if (png.paletteChunk) throw new ImageError('PNG has a second PLTE chunk');
  if (png.imageData.length) throw new ImageError('PNG has its PLTE chunk after IDAT');
  if (length === 0 || length > 768 || length % 3 !== 0) throw new ImageError(`PNG PLTE chunk is ${length} bytes; it holds 1 to 256 entries of 3 bytes`);
  const entries = length / 3;
  if (colorType === 3 && entries > 2 ** bitDepth) {
    throw new ImageError(`PNG PLTE has ${entries} entries, more than a ${bitDepth}-bit palette image can use (${2 ** bitDepth})`);
  }
  return chunkBytes;
}

function checkTransparency(png: PngStructure, length: number, chunkBytes: Uint8Array): Uint8Array {
  const { colorType } = png.header;
  if (colorType === 4 || colorType === 6) throw new ImageError(`a ${COLOUR_NAMES[colorType]} PNG must not have a tRNS chunk: it has an alpha channel`);
  if (png.transparencyChunk) throw new ImageError('PNG has a second tRNS chunk');
  if (png.imageData.length) throw new ImageError('PNG has its tRNS chunk after IDAT');
  if (colorType === 3) {
    if (!png.paletteChunk) throw new ImageError('PNG has its tRNS chunk before PLTE');
    const entries = (png.paletteChunk.length - 12) / 3;
    if (length > entries) throw new ImageError(`PNG tRNS chunk has ${length} entries, more than the palette's ${entries}`);
  } else {
    const expected = colorType === 0 ? 2 : 6;
    if (length !== expected) throw new ImageError(`PNG tRNS chunk is ${length} bytes; a ${COLOUR_NAMES[colorType]} image's is ${expected}`);
  }
  return chunkBytes;
}
