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
}

func (e *Emulator) dispatch(r *request) answer {
	if h := handlers[r.op.ID]; h != nil {
		return h(e, r)
	}
	return e.synthesise(r)
}
