import { describeFailureReason, jsonString, parseStowResponse, studyInfoFromMetadata, type DicomJsonDataset } from './dicom-json';

const STUDY = '1.2.3';

function instance(over: { series?: string; sop: string; number?: unknown; ipp?: unknown[]; iop?: unknown[]; study?: string }): DicomJsonDataset {
  return {
    '0020000D': { vr: 'UI', Value: [over.study ?? STUDY] },
    '0020000E': { vr: 'UI', Value: [over.series ?? '1.2.3.4'] },
    '00080018': { vr: 'UI', Value: [over.sop] },
    '00080016': { vr: 'UI', Value: ['1.2.840.10008.5.1.4.1.1.4'] },
    '00080060': { vr: 'CS', Value: ['MR'] },
    '00200011': { vr: 'IS', Value: ['7'] },
    '0008103E': { vr: 'LO', Value: ['T1 axial'] },
    '00080008': { vr: 'CS', Value: ['ORIGINAL', 'PRIMARY', 'AXIAL'] },
    '00100010': { vr: 'PN', Value: [{ Alphabetic: 'Doe^Jane', Ideographic: '' }] },
    '00100020': { vr: 'LO', Value: ['MRN1'] },
    '00080020': { vr: 'DA', Value: ['20240102'] },
    '00200013': { vr: 'IS', Value: [over.number ?? 1] },
    '00200032': { vr: 'DS', Value: over.ipp ?? [-120.5, '-99.25', '10'] },
    '00200037': { vr: 'DS', Value: over.iop ?? [1, 0, 0, 0, 1, 0] },
    '00280010': { vr: 'US', Value: [16] },
    '00280011': { vr: 'US', Value: [16] },
    '7FE00010': { vr: 'OW', BulkDataURI: 'http://pacs/bulk' },
  };
}

describe('studyInfoFromMetadata', () => {
  it('when DS/IS values come as numbers or strings, then IPP, IOP and numbers are parsed as numbers', () => {
    const study = studyInfoFromMetadata(STUDY, [instance({ sop: '9.1', number: '3', ipp: ['-120.5', '-99.25', '1.5e1'] })]);
    const inst = study.series[0]?.instances[0];
    expect(inst).toEqual({
      sopInstanceUid: '9.1',
      sopClassUid: '1.2.840.10008.5.1.4.1.1.4',
      instanceNumber: 3,
      imagePositionPatient: [-120.5, -99.25, 15],
      imageOrientationPatient: [1, 0, 0, 0, 1, 0],
      rows: 16,
      columns: 16,
    });
    expect(study.series[0]?.seriesNumber).toBe(7);
  });

  it('when the patient name is a PN object, then its Alphabetic group is used', () => {
    const study = studyInfoFromMetadata(STUDY, [instance({ sop: '9.1' })]);
    expect(study.patientName).toBe('Doe^Jane');
    expect(study.patientId).toBe('MRN1');
    expect(study.studyDate).toBe('20240102');
  });

  it('when ImageType is multi-valued, then every value is kept in order', () => {
    const study = studyInfoFromMetadata(STUDY, [instance({ sop: '9.1' })]);
    expect(study.series[0]?.imageType).toEqual(['ORIGINAL', 'PRIMARY', 'AXIAL']);
    expect(study.series[0]?.modality).toBe('MR');
    expect(study.series[0]?.seriesDescription).toBe('T1 axial');
  });

  it('when equipment, protocol and spacing attributes are present, then the series carries them for routing', () => {
    const ds = {
      ...instance({ sop: '9.1' }),
      '00080070': { vr: 'LO', Value: ['ACME'] },
      '00081090': { vr: 'LO', Value: ['Scanner 3T'] },
      '00081010': { vr: 'SH', Value: ['MR1'] },
      '00181030': { vr: 'LO', Value: ['t1_mprage'] },
      '00180010': { vr: 'LO', Value: ['GADOLINIUM'] },
      '00180050': { vr: 'DS', Value: ['1.25'] },
      '00280030': { vr: 'DS', Value: [0.5, '0.75'] },
    };
    expect(studyInfoFromMetadata(STUDY, [ds]).series[0]).toMatchObject({
      manufacturer: 'ACME',
      manufacturerModelName: 'Scanner 3T',
      stationName: 'MR1',
      protocolName: 't1_mprage',
      contrastBolusAgent: 'GADOLINIUM',
      sliceThickness: 1.25,
      pixelSpacing: [0.5, 0.75],
    });
    expect(studyInfoFromMetadata(STUDY, [instance({ sop: '9.2' })]).series[0]).not.toHaveProperty('sliceThickness');
  });

  it('when instances of two series arrive interleaved, then they are grouped per series and sorted by InstanceNumber', () => {
    const study = studyInfoFromMetadata(STUDY, [
      instance({ series: 'A', sop: 'a3', number: 3 }),
      instance({ series: 'B', sop: 'b1', number: 1 }),
      instance({ series: 'A', sop: 'a1', number: 1 }),
      instance({ series: 'A', sop: 'a2', number: '2' }),
    ]);
    expect(study.series.map((s) => s.seriesInstanceUid)).toEqual(['A', 'B']);
    expect(study.series[0]?.instances.map((i) => i.sopInstanceUid)).toEqual(['a1', 'a2', 'a3']);
  });

  it('when IPP has the wrong number of values or a non-number, then it is left out rather than guessed', () => {
    const study = studyInfoFromMetadata(STUDY, [instance({ sop: '1', ipp: [1, 2] }), instance({ sop: '2', number: 2, ipp: [1, 'x', 3] })]);
    expect(study.series[0]?.instances[0]?.imagePositionPatient).toBeUndefined();
    expect(study.series[0]?.instances[1]?.imagePositionPatient).toBeUndefined();
    expect('imagePositionPatient' in (study.series[0]?.instances[0] ?? {})).toBe(false);
  });

  it('when an instance belongs to another study or lacks a SOP Instance UID, then it is left out', () => {
    const noSop = instance({ sop: 'x' });
    delete noSop['00080018'];
    const study = studyInfoFromMetadata(STUDY, [instance({ sop: 'other', study: '9.9' }), noSop, instance({ sop: 'ok' })]);
    expect(study.series.flatMap((s) => s.instances.map((i) => i.sopInstanceUid))).toEqual(['ok']);
  });

  it('when tags are written in lower-case hex, then they are still found', () => {
    expect(jsonString({ '0020000d': { vr: 'UI', Value: ['1.2'] } }, '0020000D')).toBe('1.2');
  });
});

describe('parseStowResponse', () => {
  it('when the response has referenced and failed instances, then both are listed with readable reasons', () => {
    const outcome = parseStowResponse({
      '00081199': { vr: 'SQ', Value: [{ '00081155': { vr: 'UI', Value: ['1.1'] } }] },
      '00081198': { vr: 'SQ', Value: [{ '00081155': { vr: 'UI', Value: ['1.2'] }, '00081197': { vr: 'US', Value: [0xc000] } }] },
    });
    expect(outcome.referenced).toEqual(['1.1']);
    expect(outcome.failed).toEqual([{ sopInstanceUid: '1.2', reasonCode: 0xc000, reason: 'cannot understand (0xC000)' }]);
  });

  it('when the sequences are present but empty (Orthanc writes {vr:"SQ"}), then nothing is referenced or failed', () => {
    expect(parseStowResponse({ '00081198': { vr: 'SQ' }, '00081199': { vr: 'SQ' } })).toEqual({ referenced: [], failed: [] });
  });

  it('when a failure reason is unknown, then its hex code is reported', () => {
    expect(describeFailureReason(0xa7ff)).toBe('failure reason 0xA7FF');
    expect(describeFailureReason(undefined)).toBe('no reason given');
  });
});
