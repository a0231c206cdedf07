import { dicomVetterContract } from '../../test/support/dicom-vetter-contract';
import { InProcessDicomVetter } from './in-process-vetter';

dicomVetterContract('in-process', (limits) => new InProcessDicomVetter(limits));
