export { Camera, type CameraFrame, type CameraEvents } from './camera.js';
export { SimulatedCamera, type SimulatedCameraOptions } from './simulated-camera.js';
// Re-exported for kiosk-app, which imports them from here; their home is ../image.
export { decodeImage, type RawImage } from '../image/index.js';
