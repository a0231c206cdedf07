#!/usr/bin/env node
// Extracts one entry from a zip archive using only Node built-ins, so fetching helm
// needs neither the `unzip` package nor a new npm dependency.
// Usage: node scripts/unzip-entry.mjs <archive.zip> <entry/path> <output-file>
/* global process, console */
import fs from 'node:fs';
import zlib from 'node:zlib';

const EOCD_SIGNATURE = 0x06054b50;
const CENTRAL_SIGNATURE = 0x02014b50;
const LOCAL_SIGNATURE = 0x04034b50;

function fail(message) {
  console.error(`unzip-entry: ${message}`);
  process.exit(1);
}

function findEndOfCentralDirectory(zip) {
  // The EOCD record is at the end, followed by a comment of at most 65535 bytes.
  const lowest = Math.max(0, zip.length - 22 - 0xffff);
  for (let offset = zip.length - 22; offset >= lowest; offset--) {
    if (zip.readUInt32LE(offset) === EOCD_SIGNATURE) return offset;
  }
  return fail('not a zip archive (no end-of-central-directory record)');
}

function findEntry(zip, wanted) {
  const eocd = findEndOfCentralDirectory(zip);
  const entryCount = zip.readUInt16LE(eocd + 10);
  let offset = zip.readUInt32LE(eocd + 16);
  for (let i = 0; i < entryCount; i++) {
    if (zip.readUInt32LE(offset) !== CENTRAL_SIGNATURE) fail('corrupt central directory');
    const method = zip.readUInt16LE(offset + 10);
    const compressedSize = zip.readUInt32LE(offset + 20);
    const nameLength = zip.readUInt16LE(offset + 28);
    const extraLength = zip.readUInt16LE(offset + 30);
    const commentLength = zip.readUInt16LE(offset + 32);
    const localOffset = zip.readUInt32LE(offset + 42);
    const name = zip.toString('utf8', offset + 46, offset + 46 + nameLength);
    if (name === wanted) return { method, compressedSize, localOffset };
    offset += 46 + nameLength + extraLength + commentLength;
  }
  return fail(`entry ${wanted} not found`);
}

function extract(zip, entry) {
  const { method, compressedSize, localOffset } = entry;
  if (zip.readUInt32LE(localOffset) !== LOCAL_SIGNATURE) fail('corrupt local header');
  // Sizes in the local header may be zero (data descriptor); the central directory's are authoritative.
  const dataStart = localOffset + 30 + zip.readUInt16LE(localOffset + 26) + zip.readUInt16LE(localOffset + 28);
  const data = zip.subarray(dataStart, dataStart + compressedSize);
  if (method === 0) return data;
  if (method === 8) return zlib.inflateRawSync(data);
  return fail(`unsupported compression method ${method}`);
}

const [archive, wanted, output] = process.argv.slice(2);
if (!archive || !wanted || !output) fail('usage: unzip-entry.mjs <archive.zip> <entry> <output>');
const zip = fs.readFileSync(archive);
fs.writeFileSync(output, extract(zip, findEntry(zip, wanted)), { mode: 0o755 });
