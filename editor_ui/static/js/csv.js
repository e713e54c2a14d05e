// Reading the first lines of a CSV file in the browser, only to show them and offer its columns before the file
// is sent; the server reads the whole file again and has the last word on whether it is a good table.

// The first `limit` records of `text` (quotes, doubled quotes, commas and line breaks inside quotes handled).
export function firstRecords(text, limit = 6) {
  const records = [];
  let record = [];
  let field = "";
  let quoted = false;
  let i = 0;
  if (text.charCodeAt(0) === 0xfeff) i = 1;  // a byte-order mark from a spreadsheet
  for (; i < text.length && records.length < limit; i += 1) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') { field += '"'; i += 1; }
      else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"' && field === "") {
      quoted = true;
    } else if (c === ",") {
      record.push(field);
      field = "";
    } else if (c === "\n" || c === "\r") {
      if (c === "\r" && text[i + 1] === "\n") i += 1;
      record.push(field);
      field = "";
      if (record.length > 1 || record[0] !== "") records.push(record);
      record = [];
    } else {
      field += c;
    }
  }
  if (records.length < limit && (field !== "" || record.length)) {
    record.push(field);
    records.push(record);
  }
  return records;
}

// The header and a few rows of a file, read from its first 256 kB.
export async function preview(file, rows = 5) {
  const text = await file.slice(0, 256 * 1024).text();
  const records = firstRecords(text, rows + 1);
  return { columns: records[0] || [], rows: records.slice(1) };
}
