import { attachmentDisposition, fileContentType } from './file-headers';

describe('file headers', () => {
  it('names a download in ASCII and, exactly, in UTF-8', () => {
    expect(attachmentDisposition('report.pdf')).toBe(`attachment; filename="report.pdf"; filename*=UTF-8''report.pdf`);
    expect(attachmentDisposition('“Q3” résumé 100%.pdf')).toBe(
      `attachment; filename="_Q3_ r_sum_ 100_.pdf"; filename*=UTF-8''%E2%80%9CQ3%E2%80%9D%20r%C3%A9sum%C3%A9%20100%25.pdf`,
    );
    expect(attachmentDisposition('a"b\\c(d)\r\n.txt')).toBe(`attachment; filename="a_b_c(d)__.txt"; filename*=UTF-8''a%22b%5Cc%28d%29%0D%0A.txt`);
    // What a header can carry: visible ASCII only.
    expect(attachmentDisposition('😀 ünïcode')).toMatch(/^[\x20-\x7e]+$/);
  });

  it('keeps a media type and replaces anything else with bytes', () => {
    expect(fileContentType('application/pdf')).toBe('application/pdf');
    expect(fileContentType('text/plain; charset=utf-8')).toBe('text/plain; charset=utf-8');
    expect(fileContentType('text/html\r\nset-cookie: x=1')).toBe('application/octet-stream');
    expect(fileContentType('pdf')).toBe('application/octet-stream');
  });
});
