/** Public API of manifest-driven preprocessing (see prepare.ts for the composed entry point). */
export { prepareVolume, intensityOpsOf, type PreparedVolume } from './prepare';
export { applyIntensity, meanStd } from './intensity';
export { minMax } from './stats';
export { percentiles, orderStatistics } from './percentile';
export { gridOfVolume, voxelToPatient, patientToVoxel, voxelCount, type Grid3 } from './grid';
export { reorient, reorientGrid, planOrientation, permuteAxes, type OrientationCode, type Reoriented } from './reorient';
export {
  resampleLinear,
  resampleNearest,
  resampleToSpacing,
  resampleToUniform,
  labelsBackToGrid,
  gridWithSpacing,
  uniformGrid,
  resize3d,
  resizeLabels3d,
  resizeGrid,
} from './resample';
export { cropOrPad, copyBox, type CropPadResult } from './crop-pad';
export { stackChannels } from './channels';
