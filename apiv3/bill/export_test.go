package bill

// DownloadWithin and WriteFileWithin are Download and WriteFile with a smaller
// bound than MaxFileBytes, for tests of the bound; DownloadEncryptedWithin and
// DownloadEncryptedListWithin take both bounds of the encrypted files.
var (
	DownloadWithin              = download
	WriteFileWithin             = writeFile
	DownloadEncryptedWithin     = downloadEncrypted
	DownloadEncryptedListWithin = downloadEncryptedList
)
