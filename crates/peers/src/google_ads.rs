//! Local GoogleAds reporting API peer (being written; see issue 7).
