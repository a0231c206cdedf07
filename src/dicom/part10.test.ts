import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { readPart10 } from './part10';

const dir = path.join(__dirname, '..', '..', 'test', 'fixtures', 'sample-mr', 'dicom');

describe('readPart10 headerOnly', () => {
  it('when only the header is asked for, then every attribute but Pixel Data is the same and no pixels are read', () => {
    const bytes = new Uint8Array(readFileSync(path.join(dir, readdirSync(dir).sort()[0]!)));
    const whole = readPart10(bytes).dataset;
    const header = readPart10(bytes, undefined, { headerOnly: true }).dataset;
    const { PixelData: pixels, _vrMap: _a, ...attributes } = whole;
    expect((pixels as ArrayBuffer[])[0]!.byteLength).toBeGreaterThan(0);
    const { PixelData: none, _vrMap: _b, ...headerAttributes } = header;
    expect(headerAttributes).toEqual(attributes);
    // dcmjs leaves an empty value there (0 once naturalized): no pixel bytes.
    expect(Array.isArray(none) ? none.length : none ?? 0).toBe(0);
  });
});
