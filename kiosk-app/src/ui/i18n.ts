/** UI strings: Vietnamese first, English second. Keys are shared with data-i18n attributes in index.html. */
export type Locale = 'vi' | 'en';

export const STRINGS = {
  title: { vi: 'Ki-ốt dịch vụ công', en: 'Public service kiosk' },
  switchLang: { vi: 'English', en: 'Tiếng Việt' },
  insertCard: { vi: 'Đặt thẻ Căn cước lên đầu đọc', en: 'Place your ID card on the reader' },
  insertCardHint: { vi: 'Để thẻ yên trên đầu đọc cho đến khi có thông báo.', en: 'Keep the card on the reader until you are told.' },
  cardDetected: { vi: 'Đã nhận thẻ', en: 'Card detected' },
  cardDetectedHint: { vi: 'Vui lòng giữ nguyên thẻ trên đầu đọc.', en: 'Please keep the card on the reader.' },
  connecting: { vi: 'Đang kết nối thiết bị…', en: 'Connecting to devices…' },
  readerReady: { vi: 'Đầu đọc thẻ sẵn sàng', en: 'Card reader ready' },
  readerUnavailable: { vi: 'Đầu đọc thẻ chưa sẵn sàng — vui lòng gọi nhân viên hỗ trợ', en: 'Card reader not ready — please ask staff for help' },
  serviceUnavailable: { vi: 'Mất kết nối với dịch vụ ki-ốt', en: 'Lost connection to the kiosk service' },
  canPrompt: { vi: 'Nhập 6 số CAN in trên mặt trước thẻ', en: 'Enter the 6-digit CAN printed on the front of the card' },
  canHint: { vi: 'Là 6 chữ số cuối của số định danh cá nhân in trên thẻ.', en: 'These are the last 6 digits of the ID number printed on the card.' },
  canDigits: { vi: 'Các số đã nhập', en: 'Digits entered' },
  keypadDelete: { vi: 'Xóa', en: 'Delete' },
  keypadConfirm: { vi: 'Xác nhận', en: 'Confirm' },
  wrongCan: { vi: 'Số CAN không đúng — vui lòng kiểm tra và nhập lại (còn {n} lần thử)', en: 'Wrong CAN — please check it and try again ({n} tries left)' },
  reading: { vi: 'Đang đọc thẻ… {n}%', en: 'Reading the card… {n}%' },
  verifying: { vi: 'Đang xác thực thẻ…', en: 'Verifying the card…' },
  lockedPrompt: { vi: 'Đã nhập sai số CAN 3 lần', en: 'The CAN was wrong 3 times' },
  lockedHint: { vi: 'Vui lòng lấy thẻ ra và liên hệ nhân viên để được hỗ trợ.', en: 'Please take the card out and ask staff for help.' },
  removedPrompt: { vi: 'Thẻ đã được lấy ra trước khi đọc xong', en: 'The card was taken away before the read finished' },
  removedHint: { vi: 'Vui lòng đặt lại thẻ lên đầu đọc và giữ yên.', en: 'Please place it on the reader again and keep it still.' },
  failedPrompt: { vi: 'Không kiểm tra được thẻ — vui lòng liên hệ nhân viên', en: 'The card could not be checked — please ask staff for help' },
  failedHint: { vi: 'Mã lỗi: {code}', en: 'Error code: {code}' },
  verdictAccept: { vi: 'Thẻ hợp lệ', en: 'Card verified' },
  verdictReview: {
    vi: 'Chưa xác minh được thẻ — vui lòng mang thẻ đến quầy để nhân viên kiểm tra',
    en: 'The card could not be fully verified — please take it to the counter for staff to check',
  },
  verdictReject: { vi: 'Thẻ không hợp lệ — vui lòng liên hệ nhân viên', en: 'Card not valid — please contact staff' },
  lookAtCamera: { vi: 'Nhìn vào camera', en: 'Look at the camera' },
  faceAccepted: { vi: 'Khuôn mặt khớp', en: 'Face matches' },
  faceRejected: { vi: 'Khuôn mặt không khớp — vui lòng liên hệ nhân viên', en: 'Face does not match — please contact staff' },
  faceRetry: { vi: 'Không nhìn rõ khuôn mặt — vui lòng lấy thẻ ra, đặt lại và nhìn thẳng vào camera', en: 'Your face could not be seen — please take the card out, place it again and look straight at the camera' },
  removeCardHint: { vi: 'Bạn có thể lấy thẻ ra.', en: 'You may take your card now.' },
  labelName: { vi: 'Họ và tên', en: 'Full name' },
  labelBirth: { vi: 'Ngày sinh', en: 'Date of birth' },
  labelId: { vi: 'Số định danh', en: 'ID number' },
  checkSodSignature: { vi: 'Chữ ký dữ liệu thẻ', en: 'Card data signature' },
  checkDsChain: { vi: 'Chứng thư nơi cấp (CSCA)', en: 'Issuer certificate chain (CSCA)' },
  checkCrl: { vi: 'Danh sách thu hồi', en: 'Revocation list' },
  checkDataGroupHashes: { vi: 'Toàn vẹn dữ liệu', en: 'Data integrity' },
  checkActiveAuthentication: { vi: 'Xác thực chip chủ động', en: 'Active Authentication' },
  checkChipAuthentication: { vi: 'Chống sao chép chip', en: 'Chip Authentication (anti-cloning)' },
  outcomePassed: { vi: 'Đạt', en: 'Passed' },
  outcomeFailed: { vi: 'Không đạt', en: 'Failed' },
  outcomeNotPossible: { vi: 'Không kiểm tra được', en: 'Not checked' },
  submitDossier: { vi: 'Nộp hồ sơ: Xác nhận thông tin về cư trú', en: 'Submit: residence information confirmation' },
  submitDossierHint: { vi: 'Hồ sơ được gửi kèm thông tin đã xác thực từ thẻ của bạn.', en: 'The dossier is sent with the details verified from your card.' },
  dossierSubmitted: { vi: 'Hồ sơ đã được gửi', en: 'Dossier submitted' },
  dossierSending: { vi: 'Đang gửi…', en: 'Sending…' },
  dossierTrackingCode: { vi: 'Mã hồ sơ', en: 'Tracking code' },
  dossierTrackingHint: { vi: 'Hãy ghi lại hoặc chụp ảnh mã hồ sơ để tra cứu kết quả.', en: 'Note or photograph the tracking code to follow your dossier.' },
  dossierQueued: { vi: 'Đã lưu, sẽ gửi khi có mạng', en: 'Saved, will be sent when the network is back' },
  dossierQueuedHint: { vi: 'Bạn không cần làm gì thêm; hồ sơ sẽ tự động được gửi.', en: 'Nothing more to do; the dossier is sent automatically.' },
  dossierRefused: { vi: 'Hồ sơ chưa được tiếp nhận — vui lòng liên hệ nhân viên', en: 'The dossier was not accepted — please ask staff for help' },
  dossierNotSubmitted: { vi: 'Không nộp được hồ sơ — vui lòng đặt lại thẻ hoặc liên hệ nhân viên', en: 'The dossier could not be submitted — please place your card again or ask staff' },
} as const satisfies Record<string, Record<Locale, string>>;

export type StringKey = keyof typeof STRINGS;

/** The string in `locale`, with `{name}` placeholders filled from `values`. */
export function text(key: StringKey, locale: Locale, values: Record<string, string | number> = {}): string {
  return STRINGS[key][locale].replace(/\{(\w+)\}/g, (whole, name: string) => String(values[name] ?? whole));
}
