export { Camera, type CameraFrame, type CameraEvents } from './camera.js';
export { SimulatedCamera, type SimulatedCameraOptions } from './simulated-camera.js';
