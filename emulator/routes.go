package emulator

// handlers holds the operations with real behaviour; every other operation of
// the spec is answered by synthesise.
var handlers = map[string]func(e *Emulator, r *request) answer{
	"CreateBrandOpenUserCardToken":     (*Emulator).preAuthToken,
	"CreateBrandPreAuthToken":          (*Emulator).preAuthToken,
	"CreateMembercardPermissionToken":  (*Emulator).permissionToken,
	"CreatePayrollCardToken":           (*Emulator).payrollToken,
	"CreateBrandPayViewToken":          (*Emulator).payViewToken,
	"CreateBrandMembershipActivity":    (*Emulator).createActivity,
	"ListBrandMembershipActivities":    (*Emulator).listActivities,
	"GetBrandMembershipActivity":       (*Emulator).getActivity,
	"UpdateBrandMembershipActivity":    (*Emulator).updateActivity,
	"TerminateBrandMembershipActivity": (*Emulator).terminateActivity,
	"ImportMembercardUser":             (*Emulator).importMembercardUser,
	"ImportBrandUserCardByOpenID":      (*Emulator).importBrandUserCard,
	"DepositMembercardCodes":           (*Emulator).depositCodes,
	"CreateBrandCard":                  (*Emulator).createCard,
	"CreateMembercardCard":             (*Emulator).createCard,
	"GetBrandCard":                     (*Emulator).getCard,
	"GetMembercardCard":                (*Emulator).getCard,
	"UpdateBrandCard":                  (*Emulator).updateCard,
	"UpdateMembercardCard":             (*Emulator).updateCard,
	"DeleteBrandCard":                  (*Emulator).deleteCard,
	"DeleteMembercardCard":             (*Emulator).deleteCard,
	"ListBrandCards":                   (*Emulator).listCards,
	"ListMembercardCards":              (*Emulator).listCards,
	"GetBrandUserCard":                 (*Emulator).getBrandUserCard,
	"UpdateBrandUserCard":              (*Emulator).updateBrandUserCard,
	"InvalidateBrandUserCard":          (*Emulator).invalidateBrandUserCard,
	"InvalidateBrandCard":              (*Emulator).invalidateBrandCard,
	"ListBrandUserCards":               (*Emulator).listBrandUserCards,
	"GetMembercardUserCard":            (*Emulator).getMembercardUserCard,
	"UpdateMembercardUserCard":         (*Emulator).updateMembercardUserCard,
	"ActivateMembercardUserCard":       (*Emulator).activateMembercardUserCard,
	"ListMembercardUserCards":          (*Emulator).listMembercardUserCards,
	"InvalidateMembercardUserCard":     (*Emulator).invalidateMembercardUserCard,
	"UpdateMembercardCallback":         (*Emulator).setCallback,
	"GetMembercardCallback":            (*Emulator).getCallback,

	"PrepayJSAPI":                       (*Emulator).prepay,
	"PrepayApp":                         (*Emulator).prepay,
	"PrepayH5":                          (*Emulator).prepay,
	"PrepayNative":                      (*Emulator).prepay,
	"PartnerPrepayJSAPI":                (*Emulator).prepay,
	"PartnerPrepayApp":                  (*Emulator).prepay,
	"PartnerPrepayH5":                   (*Emulator).prepay,
	"PartnerPrepayNative":               (*Emulator).prepay,
	"GetTransactionByID":                (*Emulator).queryOrder,
	"GetTransactionByOutTradeNo":        (*Emulator).queryOrder,
	"PartnerGetTransactionByID":         (*Emulator).queryOrder,
	"PartnerGetTransactionByOutTradeNo": (*Emulator).queryOrder,
	"CloseTransaction":                  (*Emulator).closeOrder,
	"PartnerCloseTransaction":           (*Emulator).closeOrder,
	"CodePay":                           (*Emulator).codePay,
	"PartnerCodePay":                    (*Emulator).codePay,
	"ReverseTransaction":                (*Emulator).reverseOrder,
	"PartnerReverseTransaction":         (*Emulator).reverseOrder,
	"CreateDomesticRefund":              (*Emulator).createRefund,
	"GetDomesticRefundByOutRefundNo":    (*Emulator).getRefund,
	"ApplyDomesticAbnormalRefund":       (*Emulator).applyAbnormalRefund,
	"GetBillTradeBill":                  (*Emulator).tradeBill,
	"GetBillFundFlowBill":               (*Emulator).fundFlowBill,
	"DownloadBillFile":                  (*Emulator).billDownload,

	"UploadMediaImage":          (*Emulator).uploadMedia,
	"UploadMediaVideo":          (*Emulator).uploadMedia,
	"UploadMediaMarketingImage": (*Emulator).uploadMedia,
	"UploadMediaServiceImage":   (*Emulator).uploadMedia,
}

func (e *Emulator) dispatch(r *request) answer {
	if h := handlers[r.op.ID]; h != nil {
		return h(e, r)
	}
	return e.synthesise(r)
}
