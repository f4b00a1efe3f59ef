// Synthetic persona (invented name, numbers and address), with diacritics in every field that can carry them.
export const PERSONA_QR = '001188012345|123456789|Nguyễn Thị Thu Hường|23081988|Nữ|Số 12 Ngõ 45 Phố Đội Cấn, Phường Ngọc Hà, Quận Ba Đình, Hà Nội|10052021';
export const TODAY = { year: 2025, month: 1, day: 15 };
