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
} as const satisfies Record<string, Record<Locale, string>>;

export type StringKey = keyof typeof STRINGS;

export function text(key: StringKey, locale: Locale): string {
  return STRINGS[key][locale];
}
