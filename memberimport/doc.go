// Package memberimport imports existing members into a membership card, one API
// call per member, resumably: a crash or a kill neither loses nor duplicates a
// member.
//
// Each row of the input becomes one call to
//
//   - Membercard: POST /v3/marketing/membercard-open/cards/{card_id}/users/import
//   - Brand:      POST /v3/brand/partner/card-member/user-cards/import-by-openid
//
// # Input
//
// The input is a CSV file in UTF-8; a leading byte order mark (what Excel
// writes) is dropped, and a UTF-16 file is refused. Its first row is a header
// when one of its cells names a column, openid or code (in any order; case,
// white space, _ and - do not matter: "OpenID", "open_id" and "Open ID" all
// name openid), or when its first cell cannot be an openid (a Chinese column
// name, "user id", a file separated by semicolons). A header that names any
// other column, names one twice, or lacks openid (or code, for brand imports)
// makes the file unusable: Run returns an error wrapping ErrBadInput before
// anything is sent. Cells under an empty header cell must be empty. A file
// whose first row is not a header has openid[,code] rows. A header whose first
// column name could itself be an openid and that names neither column
// ("user,number") cannot be told from data: its row is sent and rejected.
//
// Rows with no content (blank lines, lines of commas) are skipped and not
// counted; the others are numbered from 1 (Row.Number, the rejects file's row).
// A row that cannot be sent is rejected locally as INVALID_ROW, with the reason
// in the rejects file: an empty openid, one longer than 128 characters or with
// a character other than A-Z a-z 0-9 _ - (WeChat's openid alphabet), a value
// that is not UTF-8 or holds control or invisible characters, a code longer
// than 32 characters (128 for brand imports), a brand row without a code, a
// value in a column the header does not name, unbalanced quotes, a line longer
// than 4096 bytes. Memory stays bounded whatever the file holds.
//
// # Journal and resume
//
// Every row's out_request_no is derived from its content (card and openid), so
// sending a row twice is a repeat the server answers with the original result;
// finished rows are appended to an fsync'd journal in small groups, and a new
// run skips what the journal holds and sends the rest again. Rows that fail for
// good (an unknown openid, a bad code) are journaled as rejected and listed in
// the rejects file with their error code; rows that fail temporarily (network,
// 5xx after the client's retries) are left for the next run. A journal is
// untrusted input too: damage is repaired when that is safe and refused
// otherwise (ErrJournalCorrupt, ErrJournalMismatch), in memory bounded by the
// input file.
//
//	sum, err := memberimport.Run(ctx, memberimport.Config{
//		Client: client, Kind: memberimport.Membercard, CardID: "pbLat…",
//		InputPath: "members.csv", Concurrency: 8, QPS: 50,
//	})
package memberimport
