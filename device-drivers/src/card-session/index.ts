// One card on the reader, read and verified in one session: @kiosk/device-drivers/card-session
export { CardSession, readAndVerifyCard, type CardSessionOptions, type CardSessionProgress, type CardVerifyOptions, type CardCheck } from './card-session.js';
