"""Word lists for the lexical topic classifier: stopwords, pleasantries and a small synonym table.

Entries are plain words; ``topics`` stems them at import time, so the table stays readable.
"""

from __future__ import annotations

from typing import Final

__all__ = ["PLEASANTRIES", "STOPWORDS", "SYNONYMS"]


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


STOPWORDS: Final = _words(
    """
    a about above after again against all also am an and any are as at be because been before being below
    between both but by can could did do does doing done down during each either else etc even ever every
    for from further get gets getting got had has have having he her here hers herself him himself his how
    i if in into is it its itself just let lets like me might mine more most much must my myself need
    needs no nor not now of off on once only or other our ours ourselves out over own per please pls
    really same shall she should so some something such than that the their theirs them themselves then
    there these they this those through thus to too under until up upon us very via was we were what
    whats when where whether which while who whom whose why will with within without would yes yet you
    your yours yourself yourselves im ive id dont doesnt didnt cant cannot wont isnt arent wasnt
    tell show give make want wanted know explain describe help question questions ask asking one two
    way thing things able use using used new see look sure may
    """
)

# Short social messages that are always on-topic (a conversation may open or close with them).
PLEASANTRIES: Final = _words(
    """
    hi hello hey hiya howdy greetings morning afternoon evening good night thanks thank thx ty cheers
    great cool nice awesome perfect ok okay fine bye goodbye later see welcome sorry appreciate
    appreciated helpful much lot alright right got understood understand noted yep yeah nope sounds
    excellent wonderful amazing clear
    """
)


def _table(text: str) -> dict[str, tuple[str, ...]]:
    """Parse "word: related related ..." lines (indented lines continue the previous entry)."""
    table: dict[str, tuple[str, ...]] = {}
    key = ""
    for line in text.strip().splitlines():
        head, sep, rest = line.strip().partition(":")
        if sep and " " not in head:
            key = head
            table[key] = tuple(rest.split())
        else:
            table[key] += tuple(line.split())
    return table


# topic word -> related words; applied to the words of every allowed-topic description
SYNONYMS: Final = _table(
    """
    billing: bill invoice payment pay charge refund receipt subscription price pricing cost fee credit card
        debit tax vat discount coupon overcharged renewal upgrade downgrade balance statement paypal
    invoice: bill billing receipt payment charge statement vat tax due amount
    payment: pay paid billing invoice card credit debit transfer refund charge checkout transaction bank
        paypal declined
    refund: return money back chargeback reimburse reimbursement billing charge cancel
    subscription: plan renewal renew cancel upgrade downgrade tier billing trial membership monthly annual
    pricing: price cost quote discount fee tier expensive cheap
    account: login log signin sign password username profile email register signup locked reset 2fa mfa
        authentication settings verify delete
    login: password signin sign account username locked reset 2fa mfa sso
    security: password breach phishing hack hacked vulnerability encryption 2fa mfa malware fraud suspicious
    privacy: data gdpr personal consent delete deletion cookie tracking ccpa
    order: purchase bought buy cart checkout tracking status cancel delivery shipment item confirmation
    shipping: ship shipment delivery deliver package parcel tracking courier carrier dispatch arrive arrival
        postage address ups fedex dhl
    delivery: ship shipping shipment package parcel tracking courier arrive delayed late address
    return: refund exchange send back rma label damaged defective warranty
    product: feature item model specification specs version catalog availability stock compatible
    warranty: repair replacement defective broken guarantee claim damaged
    support: help issue problem error broken fix troubleshoot ticket bug crash working install setup configure
    technical: error bug crash install setup configure configuration troubleshoot update version compatible
        driver device software hardware
    troubleshooting: error issue problem fix broken crash working fails failed bug reset restart
    programming: code coding program developer development software function bug debug compile compiler
        variable class method library framework api script syntax algorithm loop array string exception error
        refactor test git repository ide
    software: program code application app install version release update developer bug feature
    python: pip django flask fastapi pandas numpy pytest venv virtualenv conda def import lambda dict tuple
        list traceback exception asyncio pep jupyter script module package pypi typing mypy
    javascript: js node nodejs npm react typescript ts vue angular dom browser promise async await json
        webpack
    java: jvm spring maven gradle kotlin class interface jar
    database: sql query table index postgres postgresql mysql sqlite schema migration join transaction nosql
        mongodb redis
    api: endpoint request response rest http json token key webhook sdk integration rate limit
    cloud: aws azure gcp kubernetes docker container deploy deployment server serverless instance cluster
    data: dataset analysis analytics statistics sql csv spreadsheet chart dashboard report metric
    hr: human resources leave vacation holiday payroll benefits salary hiring onboarding employee policy pto
        sick
    human: hr employee leave payroll benefits hiring
    payroll: salary pay payslip paycheck wage tax deduction overtime bonus
    benefits: insurance health dental pension retirement 401k leave perk
    legal: contract agreement terms law compliance liability clause nda lawyer regulation
    compliance: regulation gdpr hipaa sox audit policy legal iso soc
    marketing: campaign brand advertising ads seo social media content email newsletter audience lead
        conversion
    sales: deal quote lead customer prospect pricing discount contract crm pipeline demo
    finance: budget accounting expense revenue profit tax invoice forecast cash audit ledger
    accounting: ledger bookkeeping expense invoice tax balance audit journal reconciliation
    tax: vat irs return deduction filing taxes withholding
    insurance: policy claim coverage premium deductible insured
    travel: flight hotel booking reservation trip airline airport luggage baggage itinerary visa passport
        cancel
    booking: reservation reserve appointment schedule cancel reschedule availability
    appointment: booking schedule reschedule cancel slot calendar visit
    health: medical doctor symptom medicine medication treatment illness pain clinic hospital diet fitness
    education: course class student teacher exam homework lesson learn school university study
    cooking: recipe food ingredient bake baking dish meal kitchen oven cook
    feedback: feedback suggestion feature request review complaint
    """
)
