// The lab behind `npm start`: a whole Kerberized POP realm in one process.
export { labPaths, labState, readMarker, DEFAULT_LAB_DIR, LAB_MARKER, type LabPaths, type LabMarker } from './layout.js';
export { createLab, randomPassword, LAB_SERVICE_HOSTS, type CreateLabOptions, type CreatedLab } from './create.js';
export { runLab, labKrb5Conf, LabError, DEFAULT_LAB_PORTS, LAB_HOST, type LabPorts, type RunningLab, type RunLabOptions } from './run.js';
export { bannerLines, type BannerInput } from './banner.js';
export { welcomeMessage } from './welcome.js';
export { startLabFromArgs, buildLabProgram, type LabIo } from './cli.js';
